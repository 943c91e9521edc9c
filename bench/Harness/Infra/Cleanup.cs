using System.Runtime.InteropServices;

namespace XtcpEpoll.Bench.Harness.Infra;

/// <summary>
/// Cleanup that must happen whatever way the harness ends (normal return, exception, Ctrl-C, SIGTERM):
/// actions run once each, last registered first. Signals cancel <see cref="Token"/> so modes unwind through
/// their finally blocks; a watchdog runs the remaining actions itself if unwinding takes too long.
/// </summary>
internal static class Cleanup
{
    private static readonly List<(string Name, Action Action)> Actions = new();
    private static readonly CancellationTokenSource Cts = new();
    private static readonly List<PosixSignalRegistration> Registrations = new();

    public static CancellationToken Token => Cts.Token;

    public static void InstallSignalHandlers()
    {
        foreach (var sig in new[] { PosixSignal.SIGINT, PosixSignal.SIGTERM, PosixSignal.SIGHUP })
        {
            Registrations.Add(PosixSignalRegistration.Create(sig, ctx =>
            {
                ctx.Cancel = true;
                if (Cts.IsCancellationRequested) return;
                Console.Error.WriteLine($"harness: {ctx.Signal} received, cleaning up");
                Cts.Cancel();
                var watchdog = new Thread(() =>
                {
                    Thread.Sleep(TimeSpan.FromSeconds(30));
                    RunAll();
                    Environment.Exit(130);
                }) { IsBackground = true };
                watchdog.Start();
            }));
        }
    }

    /// <summary>Registers an action; dispose the returned handle to run it now (and not again later).</summary>
    public static IDisposable Register(string name, Action action)
    {
        var entry = (name, action);
        lock (Actions) Actions.Add(entry);
        return new Handle(entry);
    }

    public static void RunAll()
    {
        while (true)
        {
            (string Name, Action Action) entry;
            lock (Actions)
            {
                if (Actions.Count == 0) return;
                entry = Actions[^1];
                Actions.RemoveAt(Actions.Count - 1);
            }
            Run(entry);
        }
    }

    private static void Run((string Name, Action Action) entry)
    {
        try { entry.Action(); }
        catch (Exception e) { Console.Error.WriteLine($"harness: cleanup '{entry.Name}' failed: {e.Message}"); }
    }

    private sealed class Handle((string, Action) entry) : IDisposable
    {
        public void Dispose()
        {
            bool owned;
            lock (Actions) owned = Actions.Remove(entry);
            if (owned) Run(entry);
        }
    }
}
