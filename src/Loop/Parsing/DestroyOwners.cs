using XtcpEpoll.Loop.Changes;
using XtcpEpoll.Sinks.Records;

namespace XtcpEpoll.Loop.Parsing;

/// <summary>
/// One namespace's sockets whose container a poll found by their own cgroup while the namespace has no owner
/// of its own (a host-network container's sockets in the host namespace), kept by cookie for the socket's
/// destroy event: the kernel's destroy event carries no INET_DIAG_CGROUP_ID, so its record would otherwise
/// carry the namespace's owner, i.e. none (found by the container soak, issue 25). The slot is a reference to
/// the interned <see cref="RecordAttribution"/> the poll's record carried (no copy; 24-byte entries), rewritten
/// only when it changes. Made by the parse worker only for a namespace that needs it (destroy events and
/// attribution on, no owner of its own) and dropped when the namespace gets one; only owned sockets have entries.
/// <para>
/// <b>Why an entry outlives the first poll that misses its socket</b> (one poll of grace, then evicted: no cap,
/// nothing cleared, memory follows the live sockets). A destroy event and the polls' datagrams reach the same
/// parse worker through one pipe, in the order its lane read them, but the lane reads them from two kernel
/// sockets. The kernel unhashes a closing socket (from then on no dump reports it) and sends its destroy event
/// when it frees it (<c>__sk_free</c> → <c>sock_diag_broadcast_destroy</c>, sent from a workqueue): so the first
/// dump after the close can miss the socket while its event is still in the workqueue or the destroy socket's
/// queue, or the lane reads that dump's replies before the destroy socket it reports readable in the same
/// epoll_wait; and a dump cut short (deadline, error) misses sockets that are alive. Evicting at the end of that
/// dump, as <see cref="FingerprintTable"/> does, would lose the owner. The entry is evicted at the end of the
/// second dump that did not report it: a whole poll interval after the socket left the hash table. The destroy
/// socket is level-triggered in the lane's epoll and read at every epoll_wait that reports it, so in the normal
/// case its event frame is in the pipe before that second dump's NamespaceEnd, and the event takes the entry
/// (<see cref="Take"/>) first. Not covered: a socket the kernel unhashes but frees more than a poll later (a
/// connection reset while its process keeps the fd; its event comes at close()) and events the kernel dropped
/// (counted as lost): their records carry no container, as before. A datagram read before an event but made
/// before the close re-adds a socket after its event took it: it is evicted two polls later.
/// </para>
/// One thread only (the namespace's parse worker).
/// </summary>
public sealed class DestroyOwners() : SocketTable<RecordAttribution?>(gracePolls: 1, initialCapacity: 0)
{
    /// <summary>A poll's dump of the namespace begins.</summary>
    public void BeginPoll() => BeginTablePoll();

    /// <summary>The running poll found <paramref name="owner"/> by the socket's cgroup.</summary>
    public void Remember(ulong cookie, RecordAttribution owner)
    {
        if (cookie == 0) return; // no key: its destroy record cannot be matched
        ref var slot = ref Report(cookie, SocketFingerprint.MixCookie(cookie), out _);
        if (!ReferenceEquals(slot, owner)) slot = owner; // a reference write only when the owner changed
    }

    /// <summary>The owner remembered for the socket (with the names found since; the entry is forgotten: the socket is gone), or null.</summary>
    public RecordAttribution? Take(ulong cookie) => Remove(cookie, out var owner) ? owner?.Latest : null;
}
