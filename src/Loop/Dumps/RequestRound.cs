namespace XtcpEpoll.Loop.Dumps;

/// <summary>Why a round is sent (for the next-round decision).</summary>
internal enum RoundKind : byte
{
    /// <summary>A full walk: every wanted state; rebuilds every known socket.</summary>
    Walk,
    /// <summary>The first round between full walks: an established-table dump with listener lookups, or lookups only.</summary>
    Main,
    /// <summary>A further batch of lookups (a set longer than one sendmsg carries).</summary>
    Lookups,
    /// <summary>LISTEN walk after a listener lookup missed (or listeners a lookup cannot reach), so no live listener is ever missing.</summary>
    ListenerWalk,
}

/// <summary>
/// One round of a namespace's requests in a poll: a dump of <see cref="DumpStates"/> (none when 0; compat = one
/// request, v2 = AF_INET then AF_INET6 after AF_INET's DONE, one dump in flight per socket) and exact lookups
/// of <see cref="Lookups"/>[<see cref="LookupStart"/> ..+ <see cref="LookupCount"/>] riding the round's first
/// sendmsg. The round is complete when the dump's DONE and an answer to every lookup are in. The dump's sockets
/// of <see cref="Collect"/> become the namespace's known sockets. A poll's request plan is its first round
/// (<see cref="NamespaceDump"/>.FirstRound) and each round that the completion of the previous one calls for
/// (NextRound).
/// </summary>
internal readonly record struct RequestRound(
    RoundKind Kind, uint DumpStates, ILookupSet? Lookups = null, int LookupStart = 0, int LookupCount = 0, KeyScope Collect = KeyScope.None)
{
    public bool Dumps => DumpStates != 0;
}
