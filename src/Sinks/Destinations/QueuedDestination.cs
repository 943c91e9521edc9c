using Prometheus;
using XtcpEpoll.Sinks.Metrics;

namespace XtcpEpoll.Sinks.Destinations;

/// <summary>
/// What HTTP and Kafka share: Send copies the envelope into a bounded <see cref="OutageQueue"/> and returns
/// (the sink thread never waits for the network); one worker thread of the subclass takes envelopes out,
/// at most <c>maxInFlight</c> at a time, and reports each one's <see cref="Outcome"/> back, so an envelope
/// the endpoint did not accept goes back to the front and order is kept through an outage. Flush waits
/// for the queue and the in-flight set to empty; Dispose stops and joins the worker before the subclass
/// releases its transport.
/// <para>
/// Threads: Send runs on the sink thread, the worker on its own, <see cref="Complete"/> on the worker or a
/// transport callback thread (librdkafka's). Every queue and in-flight field is guarded by one lock.
/// </para>
/// </summary>
public abstract class QueuedDestination : IDestination
{
    private readonly object _lock = new();
    private readonly OutageQueue _queue;
    private readonly Gauge _depth;
    private readonly int _maxInFlight;
    private readonly CancellationTokenSource _stop = new();
    private readonly Thread _worker;
    private int _inFlight;

    /// <summary>The worker starts in <see cref="StartWorker"/>, once the subclass constructor has set its fields.</summary>
    protected QueuedDestination(string name, OutageQueue queue, Gauge depth, int maxInFlight, string workerName)
    {
        Name = name;
        Counters = new DestinationCounters(name);
        _queue = queue;
        _depth = depth;
        _maxInFlight = Math.Max(1, maxInFlight);
        _worker = new Thread(WorkerLoop) { IsBackground = true, Name = workerName };
    }

    /// <summary>What became of an envelope the worker took out.</summary>
    protected enum Outcome
    {
        /// <summary>The endpoint accepted it.</summary>
        Delivered,
        /// <summary>Not accepted yet (endpoint down, refusing, timed out): back at the front of the queue.</summary>
        Retry,
        /// <summary>Refused for its content: retrying would wedge the queue, so it is gone (the caller counted it).</summary>
        Dropped,
    }

    public string Name { get; }

    /// <summary>xtcp_sink_{sends,bytes,errors}_total for this destination.</summary>
    protected DestinationCounters Counters { get; }

    /// <summary>Set by Dispose: the worker's blocking calls should give up.</summary>
    protected CancellationToken Stopping => _stop.Token;

    /// <summary>Envelopes queued plus those taken out and not yet completed.</summary>
    public int Depth { get { lock (_lock) return _queue.Count + _inFlight; } }

    /// <summary>Envelopes taken out and not yet completed.</summary>
    public int InFlight { get { lock (_lock) return _inFlight; } }

    /// <summary>Envelopes the queue dropped to stay within its bound.</summary>
    public long Dropped => _queue.Dropped;

    protected void StartWorker() => _worker.Start();

    public void Send(in OutgoingEnvelope envelope)
    {
        var payload = envelope.Payload.ToArray(); // the queue owns it until the endpoint accepted it
        lock (_lock)
        {
            _queue.Add(payload);
            UpdateDepth();
            Monitor.PulseAll(_lock);
        }
    }

    /// <summary>The worker thread: one envelope per iteration until Dispose.</summary>
    protected abstract void Work(byte[] payload);

    private void WorkerLoop()
    {
        while (TryTake(out var payload)) Work(payload);
    }

    /// <summary>Waits for an envelope while fewer than maxInFlight are out; false once stopping.</summary>
    private bool TryTake(out byte[] payload)
    {
        lock (_lock)
        {
            while (!_stop.IsCancellationRequested && (_queue.IsEmpty || _inFlight >= _maxInFlight))
                Monitor.Wait(_lock);
            if (_stop.IsCancellationRequested)
            {
                payload = [];
                return false;
            }
            payload = _queue.Take();
            _inFlight++;
            return true;
        }
    }

    /// <summary>Ends one in-flight envelope: a delivery ends the queue's drop episode, a retry puts it back in front.</summary>
    protected void Complete(byte[] payload, Outcome outcome)
    {
        lock (_lock)
        {
            _inFlight--;
            if (outcome == Outcome.Retry) _queue.Return(payload);
            else if (outcome == Outcome.Delivered) _queue.Delivered();
            UpdateDepth();
            Monitor.PulseAll(_lock);
        }
    }

    /// <summary>Backs off before the next attempt; true when Dispose cut the wait short (the worker then ends).</summary>
    protected bool WaitBeforeRetry(TimeSpan delay) => _stop.Token.WaitHandle.WaitOne(delay);

    private void UpdateDepth() => _depth.Set(_queue.Count + _inFlight);

    /// <summary>Waits until every queued envelope was completed. True when nothing is left.</summary>
    public virtual bool Flush(TimeSpan timeout) => WaitUntilDrained(DateTime.UtcNow + timeout);

    protected bool WaitUntilDrained(DateTime deadline)
    {
        lock (_lock)
        {
            while (_queue.Count + _inFlight > 0)
            {
                var left = deadline - DateTime.UtcNow;
                if (left <= TimeSpan.Zero) return false;
                Monitor.Wait(_lock, left);
            }
            return true;
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _stop.Cancel();
            Monitor.PulseAll(_lock);
        }
        if (_worker.ThreadState != ThreadState.Unstarted) _worker.Join();
        DisposeTransport();
        _stop.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases the subclass's client once the worker has stopped.</summary>
    protected abstract void DisposeTransport();
}
