using XtcpEpoll.Bench.Harness.Collector;

namespace XtcpEpoll.Bench.Harness.Measure;

/// <summary>
/// What a soak checks of the collector process itself, from /proc and its log: it ran until stopped and exited
/// cleanly, its OS threads stayed flat, and its fds came back once its namespaces were gone. Each check is a goal
/// row (check, measured, pass) for <c>ResultTable.AddGoal</c>; the mode words the threads and fds checks for its run.
/// </summary>
internal static class ProcessChecks
{
    /// <summary>OS threads may spread this much over a run: the runtime starts and retires a few of its own.</summary>
    public const int ThreadSpread = 2;

    /// <summary>fds above the expected count at the end that still pass (e.g. a /metrics connection not yet closed).</summary>
    public const int FdSlack = 2;

    /// <summary>
    /// SIGTERM (SIGKILL after 20 s) and the verdict: alive until stopped, exit code 0, no crash line in the log.
    /// <paramref name="crashFailures"/>: up to 5 of those lines as failure messages ("collector log: ...").
    /// </summary>
    public static (string Check, string Value, bool Pass) StopAndCheckSurvived(CollectorProcess proc, out List<string> crashFailures)
    {
        bool crashed = proc.HasExited;
        int exit = proc.Stop(TimeSpan.FromSeconds(20));
        var crashLines = proc.CrashLines();
        crashFailures = crashLines.Take(5).Select(l => "collector log: " + l).ToList();
        return ("no crash or restart (exit code after SIGTERM, log)", $"alive until stopped: {!crashed}, exit {exit}, crash lines {crashLines.Count}",
            !crashed && exit == 0 && crashLines.Count == 0);
    }

    /// <summary>OS threads max - min within <see cref="ThreadSpread"/> over <paramref name="running"/> (the samples after start-up); none fails.</summary>
    public static (string Check, string Value, bool Pass) ThreadsFlat(string check, IReadOnlyCollection<ProcSample> running)
    {
        int min = running.Count > 0 ? running.Min(s => s.Threads) : 0, max = running.Count > 0 ? running.Max(s => s.Threads) : 0;
        return (check, $"{min}..{max}", running.Count > 0 && max - min <= ThreadSpread);
    }

    /// <summary>fds at the end back to the baseline (within <see cref="FdSlack"/>); an fd count not sampled (-1) fails.</summary>
    public static (string Check, string Value, bool Pass) FdsBack(string check, int baselineFds, int finalFds)
        => FdsBack(check, $"baseline {baselineFds}, end {finalFds}", baselineFds, finalFds, baselineFds);

    /// <summary>As <see cref="FdsBack(string, int, int)"/> against <paramref name="expectedFds"/>, for a run whose collector may still hold namespaces it did not make.</summary>
    public static (string Check, string Value, bool Pass) FdsBack(string check, string measured, int baselineFds, int finalFds, double expectedFds)
        => (check, measured, baselineFds > 0 && finalFds >= 0 && finalFds <= expectedFds + FdSlack);

    /// <summary>
    /// After the run's namespaces are deleted: waits (60 s at most) until the collector holds no more namespaces
    /// than at its baseline, then two more polls so per-namespace buffers released at the next poll are gone too,
    /// and counts its fds (-1: not sampled). Drained is false when the namespaces never went back.
    /// </summary>
    public static async Task<(bool Drained, int Fds)> FdsAfterDrainAsync(CollectorProcess proc, double baselineOpen, CancellationToken ct)
    {
        var drained = await proc.WaitForMetricsAsync(m => m.GetOrZero("xtcp_namespaces_open") <= baselineOpen, TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(60), ct);
        double polls = drained != null ? CollectorProcess.AllPolls(drained) : 0;
        await proc.WaitForMetricsAsync(m => CollectorProcess.AllPolls(m) >= polls + 2, TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(30), ct);
        return (drained != null, proc.Sample()?.OpenFds ?? -1);
    }
}
