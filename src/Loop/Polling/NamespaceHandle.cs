using XtcpEpoll.Loop.Dumps;
using XtcpEpoll.Netlink.Native;

namespace XtcpEpoll.Loop.Polling;

/// <summary>
/// One open namespace as its lane sees it: identity (set by the control thread before the handle is given to
/// a lane, then read-only) and the lane thread's own state for it. The request/reply logic is in
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

    // ---- lane thread only
    /// <summary>The namespace's dump state machine; made by its lane when the handle is added (tests may preset one).</summary>
    public NamespaceDump? Dump;
    /// <summary>Index in the lane's current poll plan (-1 when not in the running poll or already ended in it).</summary>
    public int PollIndex = -1;
    /// <summary>Holds one of the lane's in-flight dump slots.</summary>
    public bool InFlight;
    /// <summary>The lane closed its socket (removed, or it could not be watched).</summary>
    public bool Removed;
}
