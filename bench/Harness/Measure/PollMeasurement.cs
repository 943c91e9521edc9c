namespace XtcpEpoll.Bench.Harness.Measure;

/// <summary>What one measured collector run (warm-up, then K polls) gave.</summary>
internal sealed class PollMeasurement
{
    public double FirstPollSec { get; set; } = double.NaN;
    public int Polls { get; set; }
    public int TimeoutPolls { get; set; }
    public double CpuPerPollSec { get; set; } = double.NaN;
    public double UserPerPollSec { get; set; } = double.NaN;
    public double SysPerPollSec { get; set; } = double.NaN;
    public List<double> PollDurationsSec { get; } = new();
    public double PollMeanSec { get; set; } = double.NaN;
    public double SocketsPerPoll { get; set; } = double.NaN;
    /// <summary>
    /// The host namespace's TCP sockets sampled with ss through the period of the poll SocketsPerPoll comes from
    /// (lowest without TIME_WAIT, highest with it); -1 when not sampled. The collector always dumps its own
    /// namespace, and on a shared machine other processes open and close sockets there all the time.
    /// </summary>
    public int HostStableMin { get; set; } = -1;
    public int HostMax { get; set; } = -1;
    public double NamespacesPerPoll { get; set; } = double.NaN;
    public double NamespacesOpen { get; set; } = double.NaN;
    /// <summary>xtcp_namespaces_sharing_host_table: the collector's own detection (issue 7).</summary>
    public double SharingHostTable { get; set; } = double.NaN;
    public int ThreadsMin { get; set; } = int.MaxValue;
    public int ThreadsMax { get; set; }
    public int OpenFds { get; set; }
    public long RssKb { get; set; }
    public string? Error { get; set; }
    /// <summary>/metrics right before and right after the CPU window (counter deltas over exactly its polls).</summary>
    public MetricsSnapshot? WindowStart { get; set; }
    public MetricsSnapshot? WindowEnd { get; set; }

    /// <summary>How much a counter series grew over the CPU window, per poll of it.</summary>
    public double PerPollInWindow(string name, string? label = null, string? value = null) =>
        WindowStart == null || WindowEnd == null || Polls <= 0 ? double.NaN
            : (WindowEnd.GetOrZero(name, label, value) - WindowStart.GetOrZero(name, label, value)) / Polls;

    public double PollP50 => Percentile(0.50);
    public double PollP99 => Percentile(0.99);

    private double Percentile(double q)
    {
        if (PollDurationsSec.Count == 0) return double.NaN;
        var sorted = PollDurationsSec.OrderBy(x => x).ToList();
        int idx = (int)Math.Ceiling(q * sorted.Count) - 1;
        return sorted[Math.Clamp(idx, 0, sorted.Count - 1)];
    }
}
