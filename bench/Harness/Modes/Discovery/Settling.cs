using XtcpEpoll.Bench.Harness.Measure;

namespace XtcpEpoll.Bench.Harness.Modes.Discovery;

/// <summary>
/// Waits until a collector started on a populated directory is past its start-up: every namespace open and a
/// poll (the second or later) that reported at least every socket the testbed holds, so every namespace has
/// walked once and knows its sockets. Deferred walks may go on after that (interval walks the budget cannot
/// fit): they are the steady state the cases measure, and the tables show them.
/// </summary>
internal static class Settling
{
    /// <summary>The poll that settled it (1-based), or -1 when <paramref name="maxPolls"/> polls went by without.</summary>
    public static async Task<int> WaitAsync(PollTrail trail, int namespaces, int sockets, int maxPolls, TimeSpan frequency, CancellationToken ct)
    {
        var perPoll = TimeSpan.FromSeconds(120) + 3 * frequency;
        while (trail.Count < maxPolls)
        {
            if (!await trail.WaitForAsync(trail.Count + 1, perPoll, ct)) return -1;
            var after = trail.After(trail.Count);
            if (trail.Count >= 2 && after != null && after.GetOrZero("xtcp_namespaces_open") >= namespaces
                && after.GetOrZero("xtcp_last_poll_sockets") >= sockets)
                return trail.Count;
        }
        return -1;
    }
}
