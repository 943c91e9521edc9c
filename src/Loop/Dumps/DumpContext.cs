using Microsoft.Extensions.Logging;

namespace XtcpEpoll.Loop.Dumps;

/// <summary>
/// What the <see cref="NamespaceDump"/>s of one lane share: the settings, the lane's request buffer (and with
/// it the lane's sequence numbers) and the counts of the running poll. One per lane; owner: the lane thread
/// (built by the control thread before the lane starts, never touched by it afterwards).
/// </summary>
internal sealed class DumpContext(DumpSettings settings, RequestBuffer requests, ILogger logger)
{
    public DumpSettings Settings { get; } = settings;
    public RequestBuffer Requests { get; } = requests;
    public ILogger Logger { get; } = logger;

    /// <summary>
    /// Sockets the collector saw in its last poll, all namespaces together (set at each poll start): what a
    /// walk of the host's shared table skips past (<see cref="WalkCost"/>).
    /// </summary>
    public long HostSockets { get; set; }

    /// <summary>Counts since the last <see cref="TakeCounts"/> (a field: dumps report into it in place).</summary>
    public LaneCounts Counts;

    /// <summary>The counts so far, and a fresh start (the lane calls this when it finishes a poll).</summary>
    public LaneCounts TakeCounts()
    {
        var counts = Counts;
        Counts = default;
        return counts;
    }
}
