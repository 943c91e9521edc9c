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
    private readonly ControlLoop _control;
    private int _started;

    public Collector(CollectorOptions options, IRecordSink sink, ILogger logger)
    {
        var error = options.Validate();
        if (error != null) throw new ArgumentException(error.Message); // no parameter suffix: the line is for people
        _options = options;
        _control = new ControlLoop(options, sink, logger);
    }

    /// <summary>Completes after MaxLoops polls or RequestStop (faults if the loop died).</summary>
    public Task Completion => _control.Completion;

    /// <summary>True once one poll has ended (for /readyz).</summary>
    public bool FirstPollCompleted => _control.PollsCompleted > 0;

    /// <summary>Namespaces with an open, verified sock_diag socket.</summary>
    public int NamespacesOpen => _control.NamespacesOpen;

    /// <summary>Polls ended so far (complete or timed out).</summary>
    public long PollsCompleted => _control.PollsCompleted;

    /// <summary>Raised on the control thread after each poll's EndOfPoll.</summary>
    public event Action<PollSummary>? PollCompleted
    {
        add => _control.PollCompleted += value;
        remove => _control.PollCompleted -= value;
    }

    /// <summary>Starts the threads; the first poll runs as soon as the initial namespaces are open.</summary>
    public void Start()
    {
        if (Interlocked.Exchange(ref _started, 1) != 0) throw new InvalidOperationException("collector already started");
        _control.Start();
    }

    /// <summary>SIGTERM path: no new polls; the running poll finishes (bounded by Timeout); then Completion.</summary>
    public void RequestStop()
    {
        if (Volatile.Read(ref _started) == 0) { _control.CompleteUnstarted(); return; }
        _control.Post(new ControlCommand.Stop());
    }

    /// <summary>Starts a poll now (unless one is running: then counted as a skipped tick).</summary>
    public void TriggerPoll()
    {
        if (Volatile.Read(ref _started) != 0) _control.Post(new ControlCommand.TriggerPoll());
    }

    /// <summary>Snapshot of the namespace registry, taken on the control thread (for diagnostics and tests).</summary>
    public Task<IReadOnlyList<NamespaceInfo>> GetNamespacesAsync()
    {
        var reply = new TaskCompletionSource<IReadOnlyList<NamespaceInfo>>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (Volatile.Read(ref _started) == 0 || Completion.IsCompleted) reply.TrySetResult([]);
        else _control.Post(new ControlCommand.Snapshot(reply));
        return reply.Task;
    }

    /// <summary>Stops (if running) and waits for the threads to end, bounded by the poll timeout plus a margin.</summary>
    public void Dispose()
    {
        RequestStop();
        if (Volatile.Read(ref _started) != 0)
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
