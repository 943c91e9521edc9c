namespace XtcpEpoll.Loop.Dumps;

/// <summary>Why a round is sent (for the next-round decision).</summary>
internal enum RoundKind : byte
{
    /// <summary>The poll's first round: the dump of the wanted states (and the lookups between walks).</summary>
    Main,
    /// <summary>LISTEN walk after a lookup missed, so no live listener is ever missing from a poll.</summary>
    ListenerWalk,
}

/// <summary>
/// One round of a namespace's requests in a poll: a dump of <see cref="DumpStates"/> (none when 0; compat = one
/// request, v2 = AF_INET then AF_INET6 after AF_INET's DONE, one dump in flight per socket) and exact lookups
/// of <see cref="Lookups"/>[<see cref="LookupStart"/> ..+ <see cref="LookupCount"/>] riding the round's first
/// sendmsg. The round is complete when the dump's DONE and an answer to every lookup are in. A poll's request
/// plan is its first round (<see cref="NamespaceDump"/>.FirstRound) and each round that the completion of the
/// previous one calls for (NextRound).
/// </summary>
internal readonly record struct RequestRound(
    RoundKind Kind, uint DumpStates, ILookupSet? Lookups = null, int LookupStart = 0, int LookupCount = 0, bool CollectListeners = false)
{
    public bool Dumps => DumpStates != 0;
}
