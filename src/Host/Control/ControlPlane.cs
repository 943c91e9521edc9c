using XtcpEpoll.Host.Config;
using XtcpEpoll.Loop;

namespace XtcpEpoll.Host.Control;

/// <summary>
/// What the gRPC services act on: the running collector, the record tap, the configuration (for Get/Set) and
/// the poll ends seen so far (PollFlatRecords waits for its poll's end). One per daemon.
/// </summary>
public sealed class ControlPlane
{
    private readonly object _gate = new();
    private readonly List<(long TimestampNs, TaskCompletionSource Ended)> _endWaiters = new();
    private long _lastEndedTimestampNs;
    private int _burstRunning;

    public ControlPlane(Collector collector, RecordTap tap, CollectConfig config, int? grpcPort)
    {
        Collector = collector;
        Tap = tap;
        Config = config;
        GrpcPort = grpcPort;
        collector.PollCompleted += OnPollCompleted;
    }

    public Collector Collector { get; }
    public RecordTap Tap { get; }
    public CollectConfig Config { get; }
    /// <summary>The TCP port of --grpc-listen (xtcp2's grpc_port), null when only the unix socket serves.</summary>
    public int? GrpcPort { get; }
    public int StreamQueueRecords => Config.Control.StreamQueueRecords;

    /// <summary>Cancelled when the daemon stops: streams end, bursts stop.</summary>
    public CancellationTokenSource Stopping { get; } = new();

    /// <summary>Completes when the poll that started at <paramref name="timestampNs"/> has ended (all its records appended).</summary>
    public Task WaitPollEndAsync(long timestampNs)
    {
        lock (_gate)
        {
            if (_lastEndedTimestampNs >= timestampNs) return Task.CompletedTask;
            var ended = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _endWaiters.Add((timestampNs, ended));
            return ended.Task;
        }
    }

    /// <summary>One burst at a time (as xtcp2): false while one runs.</summary>
    public bool TryStartBurst(uint count, TimeSpan interval)
    {
        if (Interlocked.CompareExchange(ref _burstRunning, 1, 0) != 0) return false;
        _ = RunBurstAsync(count, interval);
        return true;
    }

    private async Task RunBurstAsync(uint count, TimeSpan interval)
    {
        try
        {
            for (uint i = 0; i < count && !Stopping.IsCancellationRequested; i++)
            {
                // A poll still running at the next slot delays it (one waits at most): no poll is lost or overlapped.
                if (await Collector.TriggerPollAsync(Loop.Control.PollTrigger.Ctl).ConfigureAwait(false) < 0) return;
                if (i + 1 < count) await Task.Delay(interval, Stopping.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) { }
        finally { Volatile.Write(ref _burstRunning, 0); }
    }

    private void OnPollCompleted(PollSummary summary)
    {
        lock (_gate)
        {
            _lastEndedTimestampNs = Math.Max(_lastEndedTimestampNs, summary.TimestampNs);
            for (int i = _endWaiters.Count - 1; i >= 0; i--)
            {
                if (_endWaiters[i].TimestampNs > _lastEndedTimestampNs) continue;
                _endWaiters[i].Ended.TrySetResult();
                _endWaiters.RemoveAt(i);
            }
        }
    }

    /// <summary>The daemon stops: every waiter is released (their streams end).</summary>
    public void Stop()
    {
        Stopping.Cancel();
        lock (_gate)
        {
            foreach (var (_, ended) in _endWaiters) ended.TrySetResult();
            _endWaiters.Clear();
        }
    }
}
