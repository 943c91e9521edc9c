namespace XtcpEpoll.Bench.Harness.Measure;

/// <summary>
/// Sockets the harness opened and looks for in the collector's records, keyed by namespace name and the
/// record's source and destination ports (a loopback connection is two sockets: client -> listener port and
/// listener port -> client). <see cref="RecordLog.Read"/> notes every poll (timestampNs) that reported each.
/// </summary>
internal sealed class SocketWatch
{
    private readonly Dictionary<(string Netns, ushort Src, ushort Dst), SortedSet<long>> _seen = new();

    public int Count => _seen.Count;

    public void Add(string netns, ushort src, ushort dst) => _seen.TryAdd((netns, src, dst), new SortedSet<long>());

    public void Saw(string netns, ushort src, ushort dst, long pollNs)
    {
        if (_seen.TryGetValue((netns, src, dst), out var polls)) polls.Add(pollNs);
    }

    public bool SeenIn(string netns, ushort src, ushort dst, long pollNs) =>
        _seen.TryGetValue((netns, src, dst), out var polls) && polls.Contains(pollNs);

    /// <summary>The first poll at or after <paramref name="fromNs"/> that reported the socket, or 0.</summary>
    public long FirstSeen(string netns, ushort src, ushort dst, long fromNs)
    {
        if (!_seen.TryGetValue((netns, src, dst), out var polls)) return 0;
        foreach (var p in polls.GetViewBetween(fromNs, long.MaxValue)) return p;
        return 0;
    }
}
