using XtcpEpoll.Loop.Attribution;
using XtcpEpoll.Loop.Dumps;
using XtcpEpoll.Loop.Namespaces;

namespace XtcpEpoll.Loop.Control;

/// <summary>
/// Everything other threads ask of the control thread (FIFO queue + eventfd). A closed set: the constructor is
/// private, so the control loop's switch over these cases is exhaustive.
/// </summary>
internal abstract record ControlCommand
{
    private ControlCommand() { }

    /// <summary>
    /// Collector.TriggerPoll: start a poll now, or right after the running one (at most one waits: later
    /// triggers join it). <paramref name="Started"/> gets the started poll's timestamp (ns; -1 if the loop stops first).
    /// </summary>
    public sealed record TriggerPoll(PollTrigger Trigger = PollTrigger.Ctl, TaskCompletionSource<long>? Started = null) : ControlCommand;

    /// <summary>Collector.SetPollFrequencyAsync: new period and deadline from the next tick; the reply is the refusal, or null.</summary>
    public sealed record SetPollFrequency(TimeSpan Frequency, TimeSpan Timeout, TaskCompletionSource<XtcpEpoll.Sinks.Options.OptionError?> Reply) : ControlCommand;

    /// <summary>Collector.RequestStop: no new polls; stop after the running one.</summary>
    public sealed record Stop : ControlCommand;

    /// <summary>Collector.GetNamespacesAsync: a registry snapshot, answered on the control thread.</summary>
    public sealed record Snapshot(TaskCompletionSource<IReadOnlyList<NamespaceInfo>> Reply) : ControlCommand;

    /// <summary>The opener thread answered one request (a verified socket, or a failure reason).</summary>
    public sealed record Opened(OpenResult Result) : ControlCommand;

    /// <summary>The opener thread could not return to its namespace: it serves no more; these requests are unserved.</summary>
    public sealed record OpenerPoisoned(IOpenerThread Opener, List<OpenRequest> Pending) : ControlCommand;

    /// <summary>A parse worker consumed its lane's last frame of poll <paramref name="PollId"/>.</summary>
    public sealed record LaneDone(int Lane, int PollId, LaneCounts Counts) : ControlCommand;

    /// <summary>An attribution pass found the owners (container/pod) of these namespaces.</summary>
    public sealed record NamespacesAttributed(List<NamespaceAttribution> Attributed) : ControlCommand;

    /// <summary>The attribution pass asked for before the first poll is done: polling may begin.</summary>
    public sealed record InitialAttributionDone : ControlCommand;

    /// <summary>A lane or parse worker died (a bug, not bad input): the collector stops with this fault.</summary>
    public sealed record StageFailed(Exception Exception) : ControlCommand;
}
