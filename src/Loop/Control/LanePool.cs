using System.IO.Pipelines;
using Microsoft.Extensions.Logging;
using XtcpEpoll.Loop.Attribution;
using XtcpEpoll.Loop.Parsing;
using XtcpEpoll.Loop.Polling;
using XtcpEpoll.Netlink.Parsing;
using XtcpEpoll.Sinks.Batching;

namespace XtcpEpoll.Loop.Control;

/// <summary>
/// The lanes and their parse workers, one pipe from each lane to its worker: all made in the constructor
/// (threads made, not started), started together, stopped and joined together at shutdown. A lane's end of a
/// poll and a stage's fault reach the control thread through its mailbox. Owners: the control thread calls
/// every member (the constructor and <see cref="Start"/> run on the thread that starts the collector); each
/// lane and each worker then runs on its own thread.
/// </summary>
internal sealed class LanePool : IDisposable
{
    private const int SegmentSize = 256 * 1024;

    private readonly Lane[] _lanes;
    private readonly ParseWorker[] _workers;
    /// <summary>Control thread: the lanes' fds are closed (a lane is disposed once).</summary>
    private bool _disposed;

    public LanePool(CollectorOptions options, IRecordSink sink, CgroupAttributionCache? cgroups, ControlMailbox mailbox, ILogger logger)
    {
        _lanes = new Lane[options.Workers];
        _workers = new ParseWorker[options.Workers];
        Action<Exception> onFault = ex => mailbox.Post(new ControlCommand.StageFailed(ex)); // a bug, not bad input: the collector stops
        try
        {
            for (int i = 0; i < _lanes.Length; i++)
            {
                var pipe = new Pipe(new PipeOptions(
                    pauseWriterThreshold: options.PipeBytesPerLane,
                    resumeWriterThreshold: options.PipeBytesPerLane / 2,
                    pool: new SegmentPool(SegmentSize),
                    minimumSegmentSize: SegmentSize,
                    readerScheduler: PipeScheduler.Inline,
                    writerScheduler: PipeScheduler.Inline,
                    useSynchronizationContext: false));
                var plans = new PlanSlot();
                var eventSources = new EventSources();
                int lane = i;
                _lanes[i] = new Lane(i, options, pipe.Writer, plans, eventSources, onFault, logger);
                var decoder = new DumpDecoder(sink, ParseErrors, (ulong)i, logger, new SocketAttributor(cgroups)) { Keyframes = options.KeyframeScheduleOrNull() };
                _workers[i] = new ParseWorker(i, pipe.Reader, plans, eventSources, decoder,
                    (pollId, counts) => mailbox.Post(new ControlCommand.LaneDone(lane, pollId, counts)), onFault, logger);
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public IReadOnlyList<Lane> Lanes => _lanes;

    /// <summary>The parse errors every worker counts (exported once per poll by the poll coordinator).</summary>
    public ParseErrorCounters ParseErrors { get; } = new();

    public void Start()
    {
        foreach (var worker in _workers) worker.Start();
        foreach (var lane in _lanes) lane.Start();
    }

    /// <summary>
    /// Shutdown: every lane stops (one that still runs a poll, only after a fault, ends it at Stop and its
    /// worker reports it), then every worker has consumed its pipe; the lanes' fds are closed.
    /// </summary>
    public void StopAndJoin()
    {
        foreach (var lane in _lanes) lane.Post(new LaneCommand.Stop());
        foreach (var lane in _lanes) lane.Join();
        foreach (var worker in _workers) worker.Join();
        Dispose();
    }

    /// <summary>Closes the lanes' fds (threads never started, or joined).</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var lane in _lanes) lane?.Dispose();
    }
}
