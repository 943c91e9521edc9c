using XtcpEpoll.Netlink.Native;

namespace XtcpEpoll.Loop.Polling;

/// <summary>Where a namespace's dump stands, as seen by its lane thread.</summary>
internal enum DumpState : byte
{
    Idle,
    /// <summary>Waiting for its (spread) send slot in the current poll.</summary>
    Scheduled,
    /// <summary>Request sent, replies expected with sequence ExpectedSeq.</summary>
    Dumping,
    /// <summary>Timed out: replies of DiscardSeq are read and dropped until its DONE, then Idle again.</summary>
    Discarding,
}

/// <summary>
/// One open namespace: identity (set by the control thread before the handle is given to a lane, then
/// read-only) and dump bookkeeping (touched only by the owning lane thread).
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

    // ---- lane-thread state
    public DumpState State;
    public uint ExpectedSeq;
    public uint DiscardSeq;
    /// <summary>Index in the lane's current poll plan (-1 when not in the running poll).</summary>
    public int PollIndex = -1;
    /// <summary>v2 requests for this namespace (mode v2, or compat refused by its kernel).</summary>
    public bool UseV2;
    /// <summary>v2 only: the AF_INET6 request is the one in flight.</summary>
    public bool SecondFamily;
    public bool InterruptCounted;
    /// <summary>Listener keys and walk schedule (null until the first poll that wants LISTEN).</summary>
    public ListenerTracker? Listeners;
    /// <summary>idiag_states of the dump(s) of the current step.</summary>
    public uint DumpStates;
    /// <summary>The running dump walks the listening table: collect listener keys from its replies.</summary>
    public bool WalkingListeners;
    /// <summary>The running dump is the LISTEN-only walk sent because a lookup missed.</summary>
    public bool ListenerPhase;
    /// <summary>The main dump has ended; lookups are still outstanding.</summary>
    public bool MainDumpDone;
    /// <summary>Sequence of the first lookup; lookups use LookupFirstSeq .. LookupFirstSeq + LookupsSent - 1.</summary>
    public uint LookupFirstSeq;
    public int LookupsSent;
    public int LookupsPending;
    /// <summary>Holds one of the lane's in-flight dump slots.</summary>
    public bool InFlight;
    public bool Removed;
}
