using System.Diagnostics;
using XtcpEpoll.Netlink.Native;

namespace XtcpEpoll.Tests.Netlink;

/// <summary>
/// A throw-away named network namespace (`ip netns add xt-netlink-XXXX`, lo up), deleted on Dispose.
/// <see cref="RunInside"/> runs code on a dedicated thread that setns's in, restores the original
/// namespace afterwards and verifies it (the thread then ends, so a thread stuck in the wrong
/// namespace is never reused).
/// </summary>
internal sealed class NetworkNamespace : IDisposable
{
    public string Name { get; }

    public NetworkNamespace()
    {
        Name = "xt-netlink-" + Guid.NewGuid().ToString("N")[..10];
        Ip($"netns add {Name}");
        Ip($"-n {Name} link set lo up");
    }

    public void Dispose() => Ip($"netns del {Name}", throwOnFailure: false);

    public T RunInside<T>(Func<T> action)
    {
        T? result = default;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try { result = InsideOnThisThread(action); }
            catch (Exception e) { failure = e; }
        }, maxStackSize: 256 * 1024) { IsBackground = true, Name = "netns " + Name };
        thread.Start();
        thread.Join();
        if (failure != null)
            throw new InvalidOperationException($"work inside {Name} failed: {failure.Message}", failure);
        return result!;
    }

    private T InsideOnThisThread<T>(Func<T> action)
    {
        string before = CurrentNamespace();
        using var original = OpenReadOnly(NetNamespace.ThreadPath);
        using var target = OpenReadOnly("/run/netns/" + Name);
        int errno = NetNamespace.Enter(target);
        if (errno != 0)
            throw new InvalidOperationException($"setns into {Name} failed: errno {errno}");
        try
        {
            if (CurrentNamespace() == before)
                throw new InvalidOperationException("setns returned 0 but the namespace did not change");
            return action();
        }
        finally
        {
            if (NetNamespace.Enter(original) != 0 || CurrentNamespace() != before)
                Environment.FailFast($"could not restore the network namespace of thread {Environment.CurrentManagedThreadId}");
        }
    }

    public static string CurrentNamespace() => new FileInfo("/proc/thread-self/ns/net").LinkTarget ?? "";

    private static OwnedFd OpenReadOnly(string path) =>
        NetNamespace.Open(path, out int errno) ?? throw new InvalidOperationException($"open {path} failed: errno {errno}");

    private static void Ip(string arguments, bool throwOnFailure = true)
    {
        using var process = Process.Start(new ProcessStartInfo("ip", arguments) { RedirectStandardError = true, RedirectStandardOutput = true })!;
        string error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0 && throwOnFailure)
            throw new InvalidOperationException($"ip {arguments}: {error.Trim()}");
    }
}
