namespace XtcpEpoll.Loop.Dumps;

/// <summary>Where a namespace's dump stands (see <see cref="NamespaceDump"/>).</summary>
internal enum DumpState : byte
{
    /// <summary>No dump of this namespace runs; not part of the running poll (or already ended in it).</summary>
    Idle,
    /// <summary>In the running poll, waiting for its send slot (in-flight cap or --spread).</summary>
    Scheduled,
    /// <summary>Requests sent; replies are expected with the sequence numbers the dump chose.</summary>
    Dumping,
    /// <summary>
    /// Ended in its poll (deadline, recv error) while the kernel still runs its dump on the socket: replies
    /// are dropped until that dump's DONE, then Idle. A second dump on the socket before that would be
    /// refused with EBUSY.
    /// </summary>
    Discarding,
    /// <summary>
    /// In the running poll, its lookups done, waiting for its lane to grant or defer a full walk of the host's
    /// shared table (the lane's walk budget orders the poll's walks by unknown sockets and age). Holds no
    /// in-flight slot and nothing runs on its socket.
    /// </summary>
    AwaitingWalk,
}

/// <summary>How a namespace's dump ended in its poll (carried by the lane's NamespaceEnd frame).</summary>
internal enum DumpEnd : int { Done = 0, Timeout = 1, Abandoned = 2, Error = 3 }
