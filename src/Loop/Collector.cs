using Microsoft.Extensions.Logging;
using XtcpEpoll.Loop.Control;
using XtcpEpoll.Sinks.Batching;

namespace XtcpEpoll.Loop;

/// <summary>
/// The collection loop: discovers network namespaces, opens one sock_diag socket in each, polls them
/// every <see cref="CollectorOptions.Frequency"/> on a fixed set of threads and feeds records to the sink.
/// Thread model (fixed, independent of the namespace count): xtcp-control, xtcp-nsopen, and per lane
/// xtcp-lane-i + xtcp-parse-i; see design/ARCHITECTURE.md.
/// Lifecycle: construct, <see cref="Start"/>, await <see cref="Completion"/> (completes after MaxLoops
/// polls or after <see cref="RequestStop"/>, always after the last poll's EndOfPoll); the Host then calls
/// sink.ShutdownAsync.
/// </summary>
public sealed class Collector : IDisposable
{
    private readonly CollectorOptions _options;
    private readonly IRecordSink _sink;
    private readonly ILogger _logger;
    private readonly LoopStatus _status = new();
    private readonly object _gate = new();
    /// <summary>Under _gate: the running loop, made and started by <see cref="Start"/> (null before).</summary>
    private ControlLoop? _control;
    /// <summary>Under _gate: Start was called (once only, even if it failed).</summary>
    private bool _started;

    public Collector(CollectorOptions options, IRecordSink sink, ILogger logger)
    {
        var error = options.Validate();
        if (error != null) throw new ArgumentException(error.Message); // no parameter suffix: the line is for people
        _options = options;
        _sink = sink;
        _logger = logger;
    }

    /// <summary>Completes after MaxLoops polls or RequestStop (faults if the loop died).</summary>
    public Task Completion => _status.Completion;

    /// <summary>True once one poll has ended (for /readyz).</summary>
    public bool FirstPollCompleted => _status.PollsCompleted > 0;

    /// <summary>Namespaces with an open, verified sock_diag socket.</summary>
    public int NamespacesOpen => _status.NamespacesOpen;

    /// <summary>Polls ended so far (complete or timed out).</summary>
    public long PollsCompleted => _status.PollsCompleted;

    /// <summary>Raised on the control thread after each poll's EndOfPoll.</summary>
    public event Action<PollSummary>? PollCompleted
    {
        add => _status.PollCompleted += value;
        remove => _status.PollCompleted -= value;
    }

    /// <summary>Makes the loop's fds and threads and starts them (throws, having released them, if that fails); the first poll runs as soon as the initial namespaces are open.</summary>
    public void Start()
    {
        lock (_gate)
        {
            if (_started) throw new InvalidOperationException("collector already started");
            _started = true;
            var control = new ControlLoop(_options, _sink, _logger, _status);
            control.Start();
            _control = control;
        }
    }

    private ControlLoop? Running
    {
        get { lock (_gate) return _control; }
    }

    /// <summary>SIGTERM path: no new polls; the running poll finishes (bounded by Timeout); then Completion.</summary>
    public void RequestStop()
    {
        if (Running is { } control) control.Post(new ControlCommand.Stop());
        else _status.Complete(null); // stopped before it ever started: completes at once
    }

    /// <summary>Starts a poll now, or right after the running one (one waits at most; later triggers join it).</summary>
    public void TriggerPoll()
    {
        Running?.Post(new ControlCommand.TriggerPoll());
    }

    /// <summary>As <see cref="TriggerPoll()"/>, counted under <paramref name="trigger"/>: completes with the started poll's timestamp (ns), -1 if none will start.</summary>
    public Task<long> TriggerPollAsync(PollTrigger trigger)
    {
        var started = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (Running is not { } control || Completion.IsCompleted) started.TrySetResult(-1);
        else control.Post(new ControlCommand.TriggerPoll(trigger, started));
        Completion.ContinueWith(_ => started.TrySetResult(-1), TaskScheduler.Default); // posted as the loop stopped
        return started.Task;
    }

    /// <summary>Current poll period and deadline (changed live by <see cref="SetPollFrequencyAsync"/>).</summary>
    public TimeSpan Frequency => _options.Frequency;
    public TimeSpan Timeout => _options.Timeout;

    /// <summary>New poll period and deadline from the next tick, by the command line's rules: null, or why not (nothing changed).</summary>
    public Task<XtcpEpoll.Sinks.Options.OptionError?> SetPollFrequencyAsync(TimeSpan frequency, TimeSpan timeout)
    {
        var reply = new TaskCompletionSource<XtcpEpoll.Sinks.Options.OptionError?>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (Running is not { } control || Completion.IsCompleted) reply.TrySetResult(new("frequency", "", "the collector is not running"));
        else control.Post(new ControlCommand.SetPollFrequency(frequency, timeout, reply));
        Completion.ContinueWith(_ => reply.TrySetResult(new("frequency", "", "the collector has stopped")), TaskScheduler.Default);
        return reply.Task;
    }

    /// <summary>Snapshot of the namespace registry, taken on the control thread (for diagnostics and tests).</summary>
    public Task<IReadOnlyList<NamespaceInfo>> GetNamespacesAsync()
    {
        var reply = new TaskCompletionSource<IReadOnlyList<NamespaceInfo>>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (Running is not { } control || Completion.IsCompleted) reply.TrySetResult([]);
        else control.Post(new ControlCommand.Snapshot(reply));
        return reply.Task;
    }

    /// <summary>Stops (if running) and waits for the threads to end, bounded by the poll timeout plus a margin.</summary>
    public void Dispose()
    {
        RequestStop();
        if (Running != null)
            Completion.ContinueWith(_ => { }, TaskScheduler.Default).Wait(_options.Timeout + TimeSpan.FromSeconds(5));
    }
}

/// <summary>One known namespace: Open = has a verified socket; SharesHostTable = tcp_ehash_entries &lt; 0.</summary>
public readonly record struct NamespaceInfo(string Name, ulong Inode, bool Open, bool SharesHostTable, int Lane);

/// <summary>
/// What one poll did (for events/tests/logs). Sockets: poll-snapshot records. DumpErrors: namespaces whose dump
/// ended with an error (NLMSG_ERROR, failed send/recv) in this poll. DestroyEvents / DestroyEventsLost: destroy
/// records appended, and destroy events the kernel dropped, since the previous poll's end (they come at any time).
/// WalksDeferred: namespaces whose full walk this poll's walk budget put off (a namespace never walked yet then has
/// no record in this poll: like a timed-out poll, not a whole one).
/// </summary>
public readonly record struct PollSummary(int PollId, long TimestampNs, int Namespaces, long Sockets, bool TimedOut, int DumpErrors,
    long DestroyEvents = 0, long DestroyEventsLost = 0, int WalksDeferred = 0);
