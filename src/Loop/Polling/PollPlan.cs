using XtcpEpoll.Sinks.Records;

namespace XtcpEpoll.Loop.Polling;

/// <summary>The part of a poll one lane runs: its namespaces (index = frame NsIndex) and their contexts.</summary>
internal sealed class LanePlan
{
    public required int PollId { get; init; }
    /// <summary>Stopwatch ticks at the poll's start (the listener walks' schedule is measured from it).</summary>
    public required long StartTimestamp { get; init; }
    public required NamespaceHandle[] Targets { get; init; }
    public required RecordContext[] Contexts { get; init; }
    /// <summary>Poll-wide deadline (Stopwatch ticks).</summary>
    public required long Deadline { get; init; }
    /// <summary>--timeout in Stopwatch ticks (the lane's walk budget keeps a share of it free of new walks).</summary>
    public long TimeoutTicks { get; init; }
    /// <summary>--spread: gap between two sends of this lane (Stopwatch ticks); 0 = all at once.</summary>
    public long SendInterval { get; init; }
    /// <summary>Sockets the last poll reported over all namespaces (the walk-or-look-up cost model's host table size).</summary>
    public long HostSockets { get; init; }
}

/// <summary>
/// The plan a lane runs, as its parse worker reads it. The lane publishes it when it starts the poll, before
/// it writes any frame of that poll; the pipe's flush and read order the two, so the worker sees it with the
/// poll's first frame. There is one poll at a time: the next StartPoll reaches the lane only after the control
/// thread had every worker's LaneDone of the previous poll, so no frame of an older plan is still unread.
/// </summary>
internal sealed class PlanSlot
{
    private LanePlan? _plan;

    public void Publish(LanePlan plan) => Volatile.Write(ref _plan, plan);

    /// <summary>The plan whose frames carry <paramref name="pollId"/> (anything else is a bug: fail fast).</summary>
    public LanePlan For(int pollId)
    {
        var plan = Volatile.Read(ref _plan);
        return plan != null && plan.PollId == pollId
            ? plan
            : throw new InvalidOperationException($"frame of poll {pollId} but the lane runs poll {plan?.PollId.ToString() ?? "none"}");
    }
}
