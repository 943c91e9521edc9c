using System.Diagnostics;

namespace XtcpEpoll.Tests.Loop.Attribution;

/// <summary>
/// Real cgroup v2 directories under a private root (/sys/fs/cgroup/unified/xt-attr-AREA-RAND on this hybrid
/// host, or under /sys/fs/cgroup on a v2-only one), named as the runtimes name theirs, and processes living in
/// them. A collector pointed at <see cref="Root"/> (--cgroup-root) sees only these. Dispose kills the
/// processes, moves anything left back to the hierarchy's root and removes every directory, deepest first,
/// even after a failure.
/// </summary>
public sealed class TestCgroups : IDisposable
{
    private readonly List<string> _dirs = new();
    private readonly List<ContainerProcess> _processes = new();

    public TestCgroups(string area)
    {
        Hierarchy = XtcpEpoll.Loop.Attribution.CgroupRoot.Find()
                    ?? throw new InvalidOperationException("no cgroup2 hierarchy mounted on this machine");
        Root = Path.Combine(Hierarchy, $"xt-attr-{area}-{Random.Shared.Next(100000, 999999)}");
        Directory.CreateDirectory(Root);
        _dirs.Add(Root);
    }

    /// <summary>Where cgroup2 is mounted (/sys/fs/cgroup/unified here).</summary>
    public string Hierarchy { get; }

    /// <summary>The private root every test cgroup lives under.</summary>
    public string Root { get; }

    /// <summary>Creates ROOT/<paramref name="relative"/> and its parents; returns the full path.</summary>
    public string Create(string relative)
    {
        var path = Root;
        foreach (var part in relative.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            path = Path.Combine(path, part);
            if (Directory.Exists(path)) continue;
            Directory.CreateDirectory(path);
            lock (_dirs) _dirs.Add(path);
        }
        return path;
    }

    /// <summary>Inode of a cgroup directory = the cgroup id sockets created in it report.</summary>
    public static ulong IdOf(string cgroupPath) => XtcpEpoll.Netlink.Native.Files.Stat(cgroupPath).Inode;

    /// <summary>Removes an (empty) cgroup now, as a runtime does when its container is gone.</summary>
    public void Remove(string cgroupPath)
    {
        Directory.Delete(cgroupPath);
        lock (_dirs) _dirs.Remove(cgroupPath);
    }

    /// <summary>
    /// Starts a process that joins <paramref name="cgroupPath"/> FIRST (a socket's cgroup is fixed when the
    /// socket is created), then the network namespace <paramref name="netnsPath"/> (setns through nsenter; null
    /// = stay in the host namespace), then connects to 127.0.0.1:<paramref name="port"/> there, and holds the
    /// connection until it is stopped.
    /// </summary>
    public ContainerProcess StartProcess(string cgroupPath, string? netnsPath, int port)
    {
        var process = ContainerProcess.Start(cgroupPath, netnsPath, port);
        lock (_processes) _processes.Add(process);
        return process;
    }

    public void Dispose()
    {
        List<ContainerProcess> processes;
        lock (_processes) processes = [.. _processes];
        foreach (var p in processes)
        {
            try { p.Dispose(); }
            catch (Exception) { } // a process that will not die is moved out below
        }
        List<string> dirs;
        lock (_dirs) dirs = [.. _dirs];
        var rootProcs = Path.Combine(Hierarchy, "cgroup.procs");
        foreach (var dir in dirs.OrderByDescending(d => d.Length))
        {
            if (!Directory.Exists(dir)) continue;
            try
            {
                foreach (var pid in File.ReadAllLines(Path.Combine(dir, "cgroup.procs")))
                    if (pid.Length > 0) File.WriteAllText(rootProcs, pid);
            }
            catch (IOException) { } // the process exited meanwhile
            try { Directory.Delete(dir); }
            catch (IOException) { } // go on with the others; the leak shows in the next run's listing
        }
    }
}

/// <summary>A process holding one TCP connection, made by bash (/dev/tcp) after it joined its cgroup and namespace.</summary>
public sealed class ContainerProcess : IDisposable
{
    private readonly Process _process;
    private bool _disposed;

    private ContainerProcess(Process process) => _process = process;

    public int Pid => _process.Id;

    /// <summary>Local port of its connection (the socket whose cgroup is the container's).</summary>
    public int ClientPort { get; private set; }

    public static ContainerProcess Start(string cgroupPath, string? netnsPath, int port)
    {
        // 1. join the cgroup (before any socket exists), 2. setns into the namespace (nsenter, no /sys remount),
        // 3. connect, 4. report the local port (ss inside the namespace, this process's connection), 5. wait.
        var inner = $"exec 3<>/dev/tcp/127.0.0.1/{port} || exit 3; " +
                    $"ss -Htnp state established dst 127.0.0.1:{port} | grep \"pid=$$,\" | awk '{{print $3}}' | head -1; read -r _";
        var script = $"echo $$ > '{cgroupPath}/cgroup.procs' || exit 2; " +
                     (netnsPath == null ? inner : $"exec nsenter --net='{netnsPath}' bash -c \"{EscapeForDoubleQuotes(inner)}\"");
        var psi = new ProcessStartInfo("bash", ["-c", script])
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        var process = Process.Start(psi) ?? throw new InvalidOperationException("bash did not start");
        var holder = new ContainerProcess(process);
        try
        {
            var line = process.StandardOutput.ReadLine(); // blocks until connected (or the script failed)
            if (line == null || !TryPort(line, out int local))
                throw new InvalidOperationException($"container process failed (exit {(process.WaitForExit(5000) ? process.ExitCode : -1)}): {line} {process.StandardError.ReadToEnd()}");
            holder.ClientPort = local;
            return holder;
        }
        catch
        {
            holder.Dispose();
            throw;
        }
    }

    private static string EscapeForDoubleQuotes(string text) =>
        text.Replace("\\", "\\\\").Replace("\"", "\\\"").Replace("$", "\\$").Replace("`", "\\`");

    private static bool TryPort(string addressPort, out int port)
    {
        port = 0;
        int colon = addressPort.LastIndexOf(':');
        return colon > 0 && int.TryParse(addressPort.AsSpan(colon + 1), out port);
    }

    /// <summary>Ends the process (closing its connection) and waits for it to be gone.</summary>
    public void Stop()
    {
        if (_disposed || _process.HasExited) return;
        try { _process.Kill(entireProcessTree: true); }
        catch (InvalidOperationException) { }
        _process.WaitForExit();
    }

    public void Dispose()
    {
        if (_disposed) return;
        Stop();
        _disposed = true;
        _process.Dispose();
    }
}
