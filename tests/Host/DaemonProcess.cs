using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.RegularExpressions;
using Tmds.Linux;

namespace XtcpEpoll.Tests.Host;

/// <summary>
/// The real xtcp-epoll executable as shipped (the Native AOT publish, <see cref="PublishedBinary"/>) as a child process:
/// stdout and stderr captured line by line, the metrics port learned from its log line. Dispose kills it
/// (by its own Process object) if it is still running.
/// </summary>
public sealed partial class DaemonProcess : IDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _stdout = new();
    private readonly ConcurrentQueue<string> _stderr = new();
    private readonly TaskCompletionSource<int> _metricsPort = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private DaemonProcess(ProcessStartInfo psi)
    {
        psi.RedirectStandardOutput = true;
        psi.RedirectStandardError = true;
        psi.RedirectStandardInput = true;
        // Tests run daemons side by side: none serves the default control socket unless the test asks for one.
        if (!psi.Environment.ContainsKey("XTCP_CONTROL_SOCKET") && !psi.ArgumentList.Contains("--control-socket")) psi.Environment["XTCP_CONTROL_SOCKET"] = "";
        _process = new Process { StartInfo = psi };
        _process.OutputDataReceived += (_, e) => { if (e.Data != null) _stdout.Enqueue(e.Data); };
        _process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data == null) return;
            _stderr.Enqueue(e.Data);
            var match = MetricsLine().Match(e.Data);
            if (match.Success) _metricsPort.TrySetResult(int.Parse(match.Groups[1].Value));
        };
        _process.Start();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public int Pid => _process.Id;
    public IReadOnlyCollection<string> StdoutLines => _stdout;
    public string Stderr => string.Join('\n', _stderr);

    /// <summary>Starts the published executable with <paramref name="args"/>.</summary>
    public static DaemonProcess Start(params string[] args) => new(StartInfo(args));

    /// <summary>The published executable and <paramref name="args"/>, for a caller that sets the environment too.</summary>
    public static ProcessStartInfo StartInfo(params string[] args)
    {
        var psi = new ProcessStartInfo(PublishedBinary.Executable);
        foreach (var arg in args) psi.ArgumentList.Add(arg);
        return psi;
    }

    public static DaemonProcess Start(ProcessStartInfo psi) => new(psi);

    /// <summary>
    /// As <see cref="Start(string[])"/>, but exec'd from a shell that ignores SIGINT first, as a shell does
    /// for its background jobs; the disposition is inherited across exec (same pid).
    /// </summary>
    public static DaemonProcess StartWithSigIntIgnored(params string[] args)
    {
        var psi = new ProcessStartInfo("bash") { ArgumentList = { "-c", "trap '' INT; exec \"$0\" \"$@\"", PublishedBinary.Executable } };
        foreach (var arg in args) psi.ArgumentList.Add(arg);
        return new DaemonProcess(psi);
    }

    /// <summary>The port from the daemon's "metrics on http://HOST:PORT/metrics" log line.</summary>
    public int WaitForMetricsPort(TimeSpan timeout)
    {
        var port = Task.WhenAny(_metricsPort.Task, _process.WaitForExitAsync(), Task.Delay(timeout)).Result == _metricsPort.Task
            ? _metricsPort.Task.Result
            : throw new TimeoutException("no metrics log line; stderr:\n" + Stderr);
        return port;
    }

    public void Signal(int signal)
    {
        if (LibC.kill(_process.Id, signal) != 0) throw new InvalidOperationException($"kill failed: errno {LibC.errno}");
    }

    /// <summary>Waits for exit (stdout/stderr fully drained); returns the exit code.</summary>
    public int WaitForExit(TimeSpan timeout)
    {
        if (!_process.WaitForExit(timeout)) throw new TimeoutException("daemon did not exit; stderr:\n" + Stderr);
        _process.WaitForExit(); // flushes the async output readers
        return _process.ExitCode;
    }

    /// <summary>Polls <paramref name="condition"/> until true (the daemon offers no push event to await).</summary>
    public void WaitUntil(Func<bool> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (_process.HasExited) throw new InvalidOperationException($"daemon exited ({_process.ExitCode}) while waiting for {what}; stderr:\n{Stderr}");
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"timed out waiting for {what}; stderr:\n{Stderr}");
            Thread.Sleep(50);
        }
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited) _process.Kill();
            _process.WaitForExit(5000);
        }
        catch (InvalidOperationException) { }
        _process.Dispose();
    }

    [GeneratedRegex(@"metrics on http://\S*:(\d+)/metrics")]
    private static partial Regex MetricsLine();
}
