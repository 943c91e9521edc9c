using XtcpEpoll.Netlink.Requests;

namespace XtcpEpoll.Loop.Dumps;

/// <summary>
/// Sockets a namespace fetches by exact request (SOCK_DIAG_BY_FAMILY without NLM_F_DUMP: one hash lookup each,
/// no table walk) in a <see cref="RequestRound"/>. The kernel answers each lookup inside the sendmsg that
/// carries it, with one reply or one NLMSG_ERROR (ENOENT: gone). The sets are views of a namespace's
/// <see cref="KnownSockets"/>: all of them, its listeners, or its connections.
/// </summary>
internal interface ILookupSet
{
    /// <summary>Keys that can be looked up now (indexes 0 .. Count - 1).</summary>
    int Count { get; }

    ref readonly SocketKey Key(int index);

    /// <summary>The lookup of <see cref="Key"/>(<paramref name="index"/>) found nothing: the socket is dropped.</summary>
    void Missed(int index);
}
