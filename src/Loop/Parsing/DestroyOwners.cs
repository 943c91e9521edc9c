using XtcpEpoll.Sinks.Records;

namespace XtcpEpoll.Loop.Parsing;

/// <summary>
/// The container a poll found by a socket's own cgroup in a namespace that has no owner of its own (a
/// host-network container's sockets in the host namespace), kept by socket cookie for the socket's destroy
/// event: the kernel's destroy event carries no INET_DIAG_CGROUP_ID, so its record would otherwise carry only
/// the namespace's owner, i.e. none (found by the container soak, issue 25). A socket of a container with its
/// own namespace needs no entry (its destroy record gets the namespace's owner). One per parse worker (its
/// lane's polls and destroy events come through the same worker; not thread-safe). An entry leaves with its
/// destroy event; the table is cleared when full, which bounds it when events are off or lost (a socket closed
/// then keeps no entry for long). The dictionary keeps its capacity: no allocation per socket in steady state.
/// </summary>
internal sealed class DestroyOwners
{
    public const int Capacity = 16_384;
    private readonly Dictionary<ulong, (ulong NetnsInode, RecordAttribution Owner)> _byCookie = new();

    public int Count => _byCookie.Count;

    public void Remember(ulong netnsInode, ulong cookie, RecordAttribution owner)
    {
        if (_byCookie.Count >= Capacity && !_byCookie.ContainsKey(cookie)) _byCookie.Clear();
        _byCookie[cookie] = (netnsInode, owner);
    }

    /// <summary>The owner remembered for the socket (and forgets it), or null.</summary>
    public RecordAttribution? Take(ulong netnsInode, ulong cookie) =>
        _byCookie.Remove(cookie, out var entry) && entry.NetnsInode == netnsInode ? entry.Owner : null;
}
