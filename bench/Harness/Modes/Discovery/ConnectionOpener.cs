using XtcpEpoll.Bench.Harness.Infra;
using XtcpEpoll.Bench.Harness.Population;

namespace XtcpEpoll.Bench.Harness.Modes.Discovery;

/// <summary>
/// Opens one new long-lived loopback connection in each of a random share of a testbed's namespaces (IPv4
/// and IPv6 alternating), all at once, and remembers both sockets of each for the records check.
/// </summary>
internal sealed class ConnectionOpener(Testbed bed, int sharePct, int seed)
{
    private readonly Random _rng = new(seed);

    /// <summary>One burst of new connections: when it started, when every one was open, and what was made.</summary>
    internal sealed record Burst(long StartNs, long ReadyNs, List<(BenchNamespace Ns, LoopbackSockets.Connection Conn)> Made)
    {
        public int Sockets => 2 * Made.Count;
    }

    public int NamespacesPerBurst => Math.Max(1, (int)Math.Round(bed.Alive.Count * sharePct / 100.0));

    public async Task<Burst> OpenAsync()
    {
        var alive = bed.Alive;
        int count = Math.Min(NamespacesPerBurst, alive.Count);
        // A partial Fisher-Yates shuffle: `count` distinct namespaces.
        var pick = new int[alive.Count];
        for (int i = 0; i < pick.Length; i++) pick[i] = i;
        for (int i = 0; i < count; i++)
        {
            int j = _rng.Next(i, pick.Length);
            (pick[i], pick[j]) = (pick[j], pick[i]);
        }
        long start = Clock.UnixNs();
        var pending = new List<(BenchNamespace Ns, Task<List<LoopbackSockets.Connection>> Made)>(count);
        for (int i = 0; i < count; i++)
        {
            var ns = alive[pick[i]];
            pending.Add((ns, bed.ConnectAsync(ns, 1, ipv4First: _rng.Next(2) == 0)));
        }
        await Task.WhenAll(pending.Select(p => p.Made));
        long ready = Clock.UnixNs();
        var made = new List<(BenchNamespace, LoopbackSockets.Connection)>(count);
        foreach (var (ns, task) in pending)
            foreach (var conn in task.Result) made.Add((ns, conn));
        return new Burst(start, ready, made);
    }
}
