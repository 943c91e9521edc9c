using System.Globalization;
using XtcpEpoll.Bench.Harness.Infra;
using XtcpEpoll.Bench.Harness.Measure;

namespace XtcpEpoll.Bench.Harness.Population.Containers;

/// <summary>
/// The soak's podman containers: starts them (every <c>hostEvery</c>-th in the host network, the rest with a
/// private network namespace), waits until each one's sockets exist, removes them with `podman rm --force`
/// (after noting the connections they close). Every container carries the label xtcp-bench-soak=PID, and a
/// cleanup action removes all of this harness's containers however the run ends; the next run removes those of
/// dead harnesses (<see cref="RemoveStale"/>).
/// </summary>
internal sealed class ContainerFleet : IDisposable
{
    public const string Label = "xtcp-bench-soak";
    private readonly PodmanCli _podman;
    private readonly string _image;
    private readonly int _hostEvery;
    private readonly IDisposable _cleanup;
    private readonly HashSet<int> _portsInUse = new();
    private int _sequence, _nextPort;
    // Below the ephemeral range (32768-60999): a client's ephemeral port must never equal another container's listener port.
    private const int FirstPort = 20000, PortCount = 5000;

    public ContainerFleet(PodmanCli podman, string image, int hostEvery)
    {
        _podman = podman; _image = image; _hostEvery = hostEvery;
        _nextPort = FirstPort;
        _cleanup = Cleanup.Register("soak containers", RemoveAllNow);
    }

    public List<SoakContainer> Alive { get; } = new();
    public List<SoakContainer> EverStarted { get; } = new();
    public int StartFailures { get; private set; }

    public static void RemoveStale(PodmanCli podman)
    {
        var ids = podman.TryRun("ps", "--all", "--format", "{{.ID}} {{index .Labels \"" + Label + "\"}}", "--filter", "label=" + Label);
        foreach (var line in ids.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = line.Split(' ');
            if (parts.Length == 2 && int.TryParse(parts[1], out int pid) && !Directory.Exists($"/proc/{pid}"))
                podman.TryRun("rm", "--force", "--time", "0", parts[0]);
        }
    }

    public async Task<SoakContainer> StartAsync(CancellationToken ct)
    {
        int seq;
        int port;
        lock (_portsInUse) { seq = _sequence++; port = NextFreePort(); }
        bool host = _hostEvery > 0 && seq % _hostEvery == 0;
        string name = $"xtcp-soak-{Environment.ProcessId}-{seq}";
        long started = Clock.UnixNs();
        string id;
        try
        {
            id = (await _podman.RunAsync(ct, "run", "--detach", "--name", name, "--label", $"{Label}={Environment.ProcessId}",
                "--network", host ? "host" : "bridge", "--env", $"PORT={port}", "--entrypoint", "/bin/busybox", _image, "sh", "-c", SoakContainer.Workload)).Trim();
        }
        catch
        {
            lock (_portsInUse) { _portsInUse.Remove(port); StartFailures++; }
            _podman.TryRun("rm", "--force", "--time", "0", name);
            throw;
        }
        var c = new SoakContainer { Id = id, Name = name, Port = port, HostNetwork = host, StartedNs = started };
        lock (Alive) { Alive.Add(c); EverStarted.Add(c); }
        c.Pid = int.Parse((await _podman.RunAsync(ct, "inspect", "--format", "{{.State.Pid}}", id)).Trim(), CultureInfo.InvariantCulture);
        c.NetnsInode = ProcNetTcp.NetnsInode(c.Pid);
        // Ready once the listener and both ends of the connection exist (busybox starts within ~100 ms).
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (DateTime.UtcNow < until)
        {
            var entries = ProcNetTcp.Read(c.Pid);
            int listen = 0, established = 0;
            foreach (var e in entries)
            {
                if (!c.Owns(e)) continue;
                if (e.State == TcpEntry.Listen) listen++;
                else if (e.State == TcpEntry.Established) established++;
            }
            if (listen > 0 && established >= 2) { c.ReadyNs = Clock.UnixNs(); break; }
            await Task.Delay(50, ct);
        }
        return c;
    }

    /// <summary>Notes the connections <paramref name="c"/> is about to close, then removes it (SIGKILL, no grace).</summary>
    public async Task RemoveAsync(SoakContainer c, CancellationToken ct)
    {
        lock (Alive) Alive.Remove(c);
        try
        {
            foreach (var e in ProcNetTcp.Read(c.Pid))
                if (c.Owns(e) && e.State == TcpEntry.Established) c.ClosedSockets.Add(e);
        }
        catch (IOException) { } // the container died by itself: nothing known of its sockets
        c.RemoveStartNs = Clock.UnixNs();
        await _podman.RunAsync(ct, "rm", "--force", "--time", "0", c.Id);
        c.RemovedNs = Clock.UnixNs();
        lock (_portsInUse) _portsInUse.Remove(c.Port);
    }

    public async Task RemoveAllAsync(CancellationToken ct)
    {
        List<SoakContainer> all;
        lock (Alive) all = Alive.ToList();
        foreach (var c in all) await RemoveAsync(c, ct);
    }

    /// <summary>Ports cycle through 5,000 so a port is not reused within a run's matching window; ports busy on the host are skipped.</summary>
    private int NextFreePort()
    {
        for (int tries = 0; tries < PortCount; tries++)
        {
            int port = _nextPort;
            _nextPort = FirstPort + (_nextPort - FirstPort + 1) % PortCount;
            if (_portsInUse.Contains(port) || HostPortBusy(port)) continue;
            _portsInUse.Add(port);
            return port;
        }
        throw new InvalidOperationException("no free port for a container");
    }

    /// <summary>Read, not probed with a bind: a probe socket would be a host socket on the container's port (and a destroy record).</summary>
    private static bool HostPortBusy(int port)
    {
        foreach (var e in ProcNetTcp.Read(Environment.ProcessId))
            if (e.LocalPort == port) return true;
        return false;
    }

    private void RemoveAllNow()
    {
        var ids = _podman.TryRun("ps", "--all", "--quiet", "--filter", $"label={Label}={Environment.ProcessId}");
        foreach (var id in ids.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            _podman.TryRun("rm", "--force", "--time", "0", id);
    }

    public void Dispose() => _cleanup.Dispose();
}
