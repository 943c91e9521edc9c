using XtcpEpoll.Loop.Dumps;
using XtcpEpoll.Loop.Namespaces;
using XtcpEpoll.Netlink.Native;
using XtcpEpoll.Sinks.Records;

namespace XtcpEpoll.Loop.Polling;

/// <summary>
/// One open namespace as its lane sees it: identity (set by the control thread before the handle is given to
/// a lane, then read-only: any thread) and the lane thread's own state for it (owner: the lane thread), plus
/// the parse worker's per-socket tables (owner: the parse worker) and the event context (written by the control
/// thread, read by the parse worker, a volatile reference). The request/reply logic is in
/// <see cref="Dump"/>; what is left here is the lane's bookkeeping (its place in the poll, its in-flight slot).
/// </summary>
internal sealed class NamespaceHandle
{
    public required ulong Id { get; init; }
    public required ulong Inode { get; init; }
    public required string Name { get; init; }
    /// <summary>The namespace's sock_diag socket; the lane that owns the handle closes it.</summary>
    public required OwnedFd SocketFd { get; init; }
    public required int Lane { get; init; }
    public int TcpEhashEntries { get; init; }
    public bool SharesHostTable => TcpEhashEntries < 0;
    /// <summary>The namespace's socket subscribed to TCP destroy events (null: --destroy-events false, or the subscription failed); its lane closes it.</summary>
    public OwnedFd? DestroyFd { get; init; }
    /// <summary>The namespace's TCP counter files (null: --walk-interval 0, or they could not be opened); its lane reads them at each poll and closes them.</summary>
    public TcpCounterFiles? Counters { get; init; }

    /// <summary>
    /// What destroy-event records of this namespace are stamped with (name, inode, labels; the latest poll's
    /// context): set by the control thread when the handle is made and at each poll start, read by the parse
    /// worker at any time (a reference write: a worker sees the old or the new context, both valid).
    /// </summary>
    public RecordContext? EventContext
    {
        get => Volatile.Read(ref _eventContext);
        set => Volatile.Write(ref _eventContext, value);
    }
    private RecordContext? _eventContext;

    // ---- parse worker only
    /// <summary>--emit changed: what the namespace's sockets last emitted (made at its first dump; dropped with the handle).</summary>
    public XtcpEpoll.Loop.Changes.FingerprintTable? Fingerprints;
    /// <summary>The container its polls found by cgroup for each socket, for destroy records (only while the namespace has no owner; see DestroyOwners).</summary>
    public XtcpEpoll.Loop.Parsing.DestroyOwners? DestroyOwners;

    // ---- lane thread only
    /// <summary>The namespace's dump state machine; given by its lane when the handle is added (tests may give one first).</summary>
    public NamespaceDump Dump => _dump ?? throw new InvalidOperationException($"namespace {Name} has no dump: it was never added to a lane");
    private NamespaceDump? _dump;

    public bool HasDump => _dump != null;

    public void GiveDump(NamespaceDump dump) => _dump = dump;

    /// <summary>Index in the lane's current poll plan (-1 when not in the running poll or already ended in it).</summary>
    public int PollIndex = -1;
    /// <summary>Holds one of the lane's in-flight dump slots.</summary>
    public bool InFlight;
    /// <summary>The lane closed its socket (removed, or it could not be watched).</summary>
    public bool Removed;
    /// <summary>sk_drops of the destroy socket already counted as lost events.</summary>
    public long DestroyDropsCounted;
    /// <summary>The destroy socket reported ENOBUFS and has not been drained since (the kernel drops until it is).</summary>
    public bool DestroyOverflowing;
}
