using XtcpEpoll.Sinks.Records;

namespace XtcpEpoll.Loop.Polling;

/// <summary>
/// One poll across all lanes: created by the control thread at the tick; the parse worker that sees the
/// last lane finish ends the poll (EndOfPoll) and reports back.
/// </summary>
internal sealed class PollTracker
{
    public required int PollId { get; init; }
    public required long TimestampNs { get; init; }
    public required long StartTimestamp { get; init; }   // Stopwatch ticks
    public required int Namespaces { get; init; }
    public int LanesRemaining;
    public int AnyTimeout;
    public int DumpErrors;
    public long Sockets;
}

/// <summary>The part of a poll one lane runs: its namespaces (index = frame NsIndex) and their contexts.</summary>
internal sealed class LanePlan
{
    public required PollTracker Poll { get; init; }
    public required NamespaceHandle[] Targets { get; init; }
    public required RecordContext[] Contexts { get; init; }
    /// <summary>Poll-wide deadline (Stopwatch ticks).</summary>
    public required long Deadline { get; init; }
    /// <summary>--spread: gap between two sends of this lane (Stopwatch ticks); 0 = all at once.</summary>
    public long SendInterval { get; init; }
}
