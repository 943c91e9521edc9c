using XtcpEpoll.Bench.Harness.Infra;

namespace XtcpEpoll.Bench.Harness.Population;

/// <summary>
/// Checks that a population walks the TCP table a measurement claims: net.ipv4.tcp_ehash_entries read inside a
/// namespace is negative when it shares the host-wide table and positive when it got its own (namespaces
/// created while net.ipv4.tcp_child_ehash_entries > 0).
/// </summary>
internal static class TcpTableCheck
{
    /// <summary>Reads it in the first, middle and last namespace alive; each mismatch or unreadable value is a failure.</summary>
    public static void Expect(Testbed bed, bool ownTable, List<string> failures)
    {
        var alive = bed.Alive;
        if (alive.Count == 0) { failures.Add($"{bed.WatchDir}: no namespace to check the TCP table of"); return; }
        foreach (var ns in new[] { alive[0], alive[alive.Count / 2], alive[^1] }.Distinct())
        {
            var (exit, stdout, stderr) = ChildCommand.Run("nsenter", "--net=" + ns.Path, "cat", "/proc/sys/net/ipv4/tcp_ehash_entries");
            if (exit != 0 || !int.TryParse(stdout.Trim(), out int entries)) { failures.Add($"cannot read tcp_ehash_entries in {ns.Name}: {stderr.Trim()}"); continue; }
            if (ownTable != entries > 0)
                failures.Add(ownTable
                    ? $"{ns.Name}: tcp_ehash_entries {entries} inside; expected its own table (positive)"
                    : $"{ns.Name} owns a TCP table ({entries} buckets); expected the shared host table: set net.ipv4.tcp_child_ehash_entries=0 before the run");
        }
    }
}
