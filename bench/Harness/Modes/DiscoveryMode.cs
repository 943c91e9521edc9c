using XtcpEpoll.Bench.Harness.Infra;
using XtcpEpoll.Bench.Harness.Modes.Discovery;
using XtcpEpoll.Bench.Harness.Population;
using XtcpEpoll.Bench.Harness.Report;

namespace XtcpEpoll.Bench.Harness.Modes;

/// <summary>
/// Issue 19's goals in one run (--cases, each selectable): discovery (new connections in the next poll's
/// records), cost (defaults against --walk-interval 0, idle and churning) and start-up (2,000 x 40 sockets
/// complete by the 3rd poll, no deadline missed). The first three share one population on the shared host
/// table; cost runs before discovery so its idle cases see the population as made.
/// </summary>
internal sealed class DiscoveryMode(HarnessContext c)
{
    /// <summary>Sockets per holder at placement: bursts of new connections go to a namespace's own holder, and need room.</summary>
    private const int HolderFdBudgetWithBursts = 12_000;

    public async Task<bool> RunAsync()
    {
        var s = DiscoverySetup.Parse(c);
        var failures = new List<string>();
        var tables = new List<ResultTable>();
        var notes = new List<string>();
        var goals = new ResultTable("discovery goals (issue 19)", "goal", "measured", "result");

        if (s.Cases.Overlaps(["discovery", "cost", "churning"]))
        {
            using var bed = new Testbed("discovery", HolderFdBudgetWithBursts);
            await bed.AddAsync(s.Namespaces, s.Listeners, s.Connections, c.Token);
            Console.Error.WriteLine($"harness: {s.Namespaces} namespaces x {s.SocketsPerNamespace} sockets on the shared host table ({bed.SocketsAlive} sockets over {bed.HolderCount} holder(s))");
            TcpTableCheck.Expect(bed, ownTable: false, failures);
            if (s.Cases.Overlaps(["cost", "churning"])) tables.AddRange(await new CostCases(c, s).RunAsync(bed, goals, failures, notes));
            if (s.Cases.Contains("discovery")) tables.Add(await new DiscoveryCase(c, s).RunAsync(bed, goals, failures, notes));
        }
        if (s.Cases.Contains("startup"))
        {
            using var bed = new Testbed("startup");
            await bed.AddAsync(s.StartupNamespaces, s.StartupListeners, s.StartupConnections, c.Token);
            Console.Error.WriteLine($"harness: startup: {s.StartupNamespaces} namespaces x {s.StartupSocketsPerNamespace} sockets ({bed.SocketsAlive} over {bed.HolderCount} holder(s))");
            TcpTableCheck.Expect(bed, ownTable: false, failures);
            tables.Add(await new StartupCase(c, s).RunAsync(bed, goals, failures, notes));
        }

        tables.Add(goals);
        foreach (var t in tables) t.Print(Console.Out);
        notes.Add($"Collector options: its defaults except --dest (null for cost, a jsonl file for discovery and startup), --jitter-pct 0 (the harness's, so bursts can land between ticks), --frequency {HarnessOptions.Format(s.Frequency)}, --timeout {HarnessOptions.Format(s.Timeout)}, --workers {c.Workers}, --metrics-listen on loopback; load average at the end {File.ReadAllText("/proc/loadavg").Split(' ')[0]}.");
        foreach (var note in notes) Console.WriteLine("note: " + note);
        for (int i = 0; i < tables.Count; i++)
        {
            string csv = Path.Combine(c.OutDir, $"discovery-{c.RunId}-{i + 1}.csv");
            tables[i].WriteCsv(csv);
            Console.WriteLine($"CSV: {csv}");
        }
        c.WriteMarkdown(tables, notes);
        return c.Verdict(failures);
    }
}
