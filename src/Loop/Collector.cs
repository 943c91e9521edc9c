using Microsoft.Extensions.Logging;
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
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _started;
    private long _pollsCompleted;
    private int _namespacesOpen;

    public Collector(CollectorOptions options, IRecordSink sink, ILogger logger)
    {
        var error = options.Validate();
        if (error != null) throw new ArgumentException(error.Message); // no parameter suffix: the line is for people
        _options = options;
        _control = new ControlLoop(this, options, sink, logger);
    }

    /// <summary>Completes after MaxLoops polls or RequestStop (faults if the loop died).</summary>
    public Task Completion => _completion.Task;

    /// <summary>True once one poll has ended (for /readyz).</summary>
    public bool FirstPollCompleted => Volatile.Read(ref _pollsCompleted) > 0;

    /// <summary>Namespaces with an open, verified sock_diag socket.</summary>
    public int NamespacesOpen
    {
        get => Volatile.Read(ref _namespacesOpen);
        internal set => Volatile.Write(ref _namespacesOpen, value);
    }

    /// <summary>Polls ended so far (complete or timed out).</summary>
    public long PollsCompleted => Volatile.Read(ref _pollsCompleted);

    /// <summary>Raised on the control thread after each poll's EndOfPoll.</summary>
    public event Action<PollSummary>? PollCompleted;

    /// <summary>Starts the threads; the first poll runs as soon as the initial namespaces are open.</summary>
    public void Start()
    {
        if (Interlocked.Exchange(ref _started, 1) != 0) throw new InvalidOperationException("collector already started");
        _control.Start();
    }

    /// <summary>SIGTERM path: no new polls; the running poll finishes (bounded by Timeout); then Completion.</summary>
    public void RequestStop()
    {
        if (Volatile.Read(ref _started) == 0) { _completion.TrySetResult(); return; }
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

    internal void OnPollCompleted(int pollId, long timestampNs, int namespaces, long sockets, bool timedOut, int dumpErrors)
    {
        Interlocked.Increment(ref _pollsCompleted);
        PollCompleted?.Invoke(new PollSummary(pollId, timestampNs, namespaces, sockets, timedOut, dumpErrors));
    }

    internal void OnStopped(Exception? fault)
    {
        if (fault != null) _completion.TrySetException(fault);
        else _completion.TrySetResult();
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

/// <summary>What one poll did (for events/tests/logs).</summary>
/// <summary>DumpErrors: namespaces whose dump ended with an error (NLMSG_ERROR, failed send/recv) in this poll.</summary>
public readonly record struct PollSummary(int PollId, long TimestampNs, int Namespaces, long Sockets, bool TimedOut, int DumpErrors);
