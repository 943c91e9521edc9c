namespace XtcpEpoll.Loop.Control;

/// <summary>What started a poll (the trigger label of xtcp_polls_total).</summary>
public enum PollTrigger
{
    /// <summary>The --frequency tick.</summary>
    Timer,
    /// <summary>An operator: ConfigService TriggerPoll / TriggerPollBurst (`xtcp-epoll ctl`).</summary>
    Ctl,
    /// <summary>A PollFlatRecords request (`xtcp-epoll watch --poll`).</summary>
    Stream,
}

/// <summary>Metric label values of <see cref="PollTrigger"/> (index = the enum's value).</summary>
public static class PollTriggers
{
    public static readonly string[] Names = ["timer", "ctl", "stream"];

    public static string Name(PollTrigger trigger) => Names[(int)trigger];
}
