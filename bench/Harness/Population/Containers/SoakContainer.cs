using XtcpEpoll.Bench.Harness.Measure;

namespace XtcpEpoll.Bench.Harness.Population.Containers;

/// <summary>
/// One container of the soak and what the harness knows of it: the id `podman run` printed (the one
/// `podman inspect` reports), its listener port, its network namespace (its own, or the host's) and the times
/// it became ready and was removed (Unix ns; 0 = not yet).
/// </summary>
internal sealed class SoakContainer
{
    public required string Id { get; init; }
    public required string Name { get; init; }
    public required int Port { get; init; }
    public required bool HostNetwork { get; init; }
    public required long StartedNs { get; init; }
    public int Pid { get; set; }
    public ulong NetnsInode { get; set; }
    /// <summary>When its listener and both ends of its connection were seen in its namespace.</summary>
    public long ReadyNs { get; set; }
    public long RemoveStartNs { get; set; }
    /// <summary>When `podman rm` returned: its processes are gone, its namespace (if private) unmounted.</summary>
    public long RemovedNs { get; set; }
    /// <summary>Its established connections' sockets just before removal: each must arrive once as a destroy record.</summary>
    public List<TcpEntry> ClosedSockets { get; } = new();

    /// <summary>
    /// The workload, as busybox sh: a persistent echo listener on the port (`nc -ll -e cat`: one forked cat per
    /// connection) and one outgoing connection to it carrying a line a second (reconnecting if it drops).
    /// </summary>
    public const string Workload =
        "B=/bin/busybox; $B mkdir -p /x && $B --install -s /x && export PATH=/x; " +
        "nc -ll -p $PORT -e cat & " +
        "while :; do sleep 0.2; (while :; do echo ping; sleep 1; done) | nc 127.0.0.1 $PORT > /dev/null; done";

    /// <summary>Whether a socket of this container's (local or peer port = its port) in its namespace.</summary>
    public bool Owns(in TcpEntry e) => e.LocalPort == Port || e.RemotePort == Port;
}
