using XtcpEpoll.Netlink.Requests;

namespace XtcpEpoll.Loop.Dumps;

/// <summary>
/// The request plan of a namespace's poll: which <see cref="RequestRound"/> comes first and which follows a
/// completed one. Today's policy is the shared-table one (design/ARCHITECTURE.md, "Host-wide tables"); a new
/// kind of request (e.g. exact lookups of every known socket, walks on an interval) is a new round here, and
/// the mechanics in NamespaceDump.cs (sequences, families, lookup answers, discarding) stay as they are.
/// </summary>
internal sealed partial class NamespaceDump
{
    /// <summary>Listener keys and walk schedule (null until the first poll that tracks the shared tables).</summary>
    private ListenerTracker? _listeners;

    public ListenerTracker? Listeners => _listeners;

    /// <summary>
    /// With shared-table tracking, between walks the dump skips LISTEN (looked up instead, the lookups riding
    /// its sendmsg) and BOUND_INACTIVE (reported at walks only); at a walk (first poll, refresh due, listeners
    /// a lookup cannot serve) it asks every wanted state and collects the listeners' keys.
    /// </summary>
    private RequestRound FirstRound(long pollStart)
    {
        var settings = _context.Settings;
        if (!settings.TrackSharedTables)
        {
            if ((settings.States & TcpStates.InHostWideTables) != 0) Counts.WalksUntracked++;
            return new RequestRound(RoundKind.Main, settings.States);
        }
        var listeners = _listeners ??= new ListenerTracker();
        if (listeners.Plan(pollStart, out var reason) == ListenerAction.LookUp)
            return new RequestRound(RoundKind.Main, settings.States & ~TcpStates.InHostWideTables, listeners, 0, listeners.Count);
        BeginWalk(reason);
        return new RequestRound(RoundKind.Main, settings.States, CollectListeners: true);
    }

    /// <summary>
    /// A lookup that found nothing may hide a live listener (a new one on the same address, or one a lookup
    /// cannot reach: SO_REUSEPORT group, BPF sk_lookup), so the listening table is walked in this same poll:
    /// no listener goes unreported. Records already sent by lookups are dropped by the parser's cookie dedupe.
    /// </summary>
    private RequestRound? NextRound(in RequestRound finished)
    {
        if (finished.Kind != RoundKind.Main || _listeners is not { AnyMissed: true }) return null;
        BeginWalk(WalkReason.LookupMiss);
        return new RequestRound(RoundKind.ListenerWalk, TcpStates.Listen, CollectListeners: true);
    }

    private void BeginWalk(WalkReason reason)
    {
        _listeners!.BeginWalk();
        switch (reason)
        {
            case WalkReason.LookupMiss: Counts.WalksForLookupMiss++; break;
            case WalkReason.Untracked: Counts.WalksUntracked++; break;
            default: Counts.WalksForRefresh++; break;
        }
    }
}
