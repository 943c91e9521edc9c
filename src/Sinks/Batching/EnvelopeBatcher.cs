using System.Buffers;
using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using XtcpEpoll.Sinks.Destinations;
using XtcpEpoll.Sinks.Marshal;
using XtcpEpoll.Sinks.Metrics;
using XtcpEpoll.Sinks.Records;

namespace XtcpEpoll.Sinks.Batching;

/// <summary>
/// Collects records into envelopes and ships them from one dedicated sink thread.
/// <list type="bullet">
/// <item>Append (parse workers, thread-safe): one lock per call, not per record. Each record's encoded
/// size is computed once, before the lock, and added to a running total (O(1) per record). An
/// envelope is flushed before a record would push it past <see cref="SinkOptions.EnvelopeFlushBytes"/>
/// (size_cap) and when it reaches <see cref="SinkOptions.EnvelopeFlushRows"/> (rows_cap); the next
/// record starts a new envelope, so nothing is dropped after a mid-poll flush (xtcp2's bug).</item>
/// <item>EndOfPoll / ShutdownAsync: flush the pending envelope (poll_end, poll_timeout, shutdown).
/// They never do I/O and never wait for a free envelope, so the epoll loop thread is not blocked.</item>
/// <item>Bounded memory: a fixed pool of SinkQueueEnvelopes + 1 envelopes. When every one is full
/// or queued (the destination is slower than collection), Append waits for the sink thread to free
/// one: collection slows down instead of memory growing. Destinations that must ride out an outage
/// (Kafka) keep their own bounded queue, so this wait stays short.</item>
/// <item>The sink thread marshals each envelope into one reused buffer and calls the destination.</item>
/// </list>
/// </summary>
public sealed class EnvelopeBatcher : IRecordSink, IDisposable
{
    private readonly object _lock = new();
    private readonly long _flushBytes;
    private readonly int _flushRows;
    private readonly IEnvelopeMarshaller _marshaller;
    private readonly IDestination _destination;
    private readonly ILogger _logger;
    private readonly ErrorEpisode _marshalErrors;
    private readonly DestinationCounters _batcherCounters = new("batcher");
    private readonly Stack<EnvelopeBatch> _free = new();
    private readonly BlockingCollection<EnvelopeBatch> _ready = new(new ConcurrentQueue<EnvelopeBatch>());
    private readonly Thread _sinkThread;
    private readonly ArrayBufferWriter<byte> _payload = new(1 << 20);
    private EnvelopeBatch? _current;
    private bool _shutdown;
    private int _disposed;
    private int _waitingAppends;
    private long _recordsRefused;

    [ThreadStatic] private static int[]? t_sizes;

    public EnvelopeBatcher(SinkOptions options, IEnvelopeMarshaller marshaller, IDestination destination, ILogger logger)
    {
        _flushBytes = options.EnvelopeFlushBytes;
        _flushRows = options.EnvelopeFlushRows;
        _marshaller = marshaller;
        _destination = destination;
        _logger = logger;
        _marshalErrors = new ErrorEpisode(logger, "marshal " + marshaller.Name);
        var initialCapacity = Math.Min(_flushRows, 1024);
        for (var i = 0; i < options.SinkQueueEnvelopes + 1; i++)
            _free.Push(new EnvelopeBatch(initialCapacity, _flushRows, _flushBytes));
        _sinkThread = new Thread(SinkLoop) { IsBackground = true, Name = "xtcp-sink" };
        _sinkThread.Start();
    }

    /// <summary>Builds marshaller and destination from <paramref name="options"/>; error is one line naming what to fix.</summary>
    public static bool TryCreate(SinkOptions options, ILoggerFactory loggers, out EnvelopeBatcher batcher, out string error)
    {
        batcher = null!;
        var invalid = options.Validate();
        if (invalid != null)
        {
            error = invalid.Message;
            return false;
        }
        error = "";
        MarshallerFactory.TryCreate(options.Marshal, options.Columns, out var marshaller, out _);
        DestinationSpec.TryParse(options.Dest, out var spec, out _);
        IDestination destination;
        try
        {
            destination = DestinationFactory.Create(spec, options, marshaller, loggers.CreateLogger("XtcpEpoll.Sinks.Destination"));
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or Confluent.Kafka.KafkaException)
        {
            error = $"--dest {options.Dest}: {e.Message}";
            return false;
        }
        batcher = new EnvelopeBatcher(options, marshaller, destination, loggers.CreateLogger<EnvelopeBatcher>());
        return true;
    }

    public IDestination Destination => _destination;

    /// <summary>Workers blocked in Append waiting for a free envelope (back-pressure from the sink).</summary>
    public int WaitingAppends => Volatile.Read(ref _waitingAppends);

    /// <summary>Records appended after (or woken by) shutdown that could not be sent; each is also counted in xtcp_sink_errors_total{sink="batcher"}.</summary>
    public long RecordsRefused => Interlocked.Read(ref _recordsRefused);

    public void Append(ReadOnlySpan<FlatRecord> records)
    {
        if (records.IsEmpty) return;
        // Sizes are computed before taking the lock so workers encode-size in parallel.
        var sizes = t_sizes;
        if (sizes == null || sizes.Length < records.Length)
            t_sizes = sizes = new int[Math.Max(records.Length, 256)];
        for (var i = 0; i < records.Length; i++)
            sizes[i] = FlatRecordEncoder.ComputeSize(in records[i]);

        lock (_lock)
        {
            for (var i = 0; i < records.Length; i++)
            {
                if (_shutdown)
                {
                    RefuseLocked(records.Length - i);
                    return;
                }
                var size = sizes[i];
                var rowBytes = FlatRecordEncoder.EnvelopeRowSize(size);
                if (_current is { Count: > 0 } && _current.EnvelopeBytes + rowBytes > _flushBytes)
                    FlushLocked(FlushReason.SizeCap);
                // Wait for a free envelope; Monitor.Wait releases the lock meanwhile, so EndOfPoll,
                // other workers and the sink thread are not held up.
                while (_current == null && !_shutdown)
                {
                    if (_free.Count > 0)
                    {
                        _current = _free.Pop();
                        continue;
                    }
                    _waitingAppends++;
                    Monitor.Wait(_lock);
                    _waitingAppends--;
                }
                if (_current == null)
                {
                    // Woken by shutdown with no envelope: this record and the rest cannot be placed.
                    RefuseLocked(records.Length - i);
                    return;
                }
                _current.Add(in records[i], size, rowBytes);
                if (_current.Count >= _flushRows)
                    FlushLocked(FlushReason.RowsCap);
            }
        }
    }

    /// <summary>Records arriving after shutdown flushed cannot be sent any more: counted, never silent.</summary>
    private void RefuseLocked(int count)
    {
        Interlocked.Add(ref _recordsRefused, count);
        _batcherCounters.Errors.Inc(count);
    }

    public void EndOfPoll(FlushReason reason)
    {
        lock (_lock)
            FlushLocked(reason);
    }

    public async Task ShutdownAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        lock (_lock)
        {
            if (_shutdown) return;
            FlushLocked(FlushReason.Shutdown);
            _shutdown = true;
            Monitor.PulseAll(_lock);
        }
        _ready.CompleteAdding();
        var sinkDone = Task.Run(() => _sinkThread.Join(Remaining(deadline)));
        if (!await sinkDone.ConfigureAwait(false))
            _logger.LogWarning("Shutdown: envelopes still queued for {Sink} after {Timeout}; giving up on them", _destination.Name, timeout);
        var remaining = Remaining(deadline);
        var flushed = await Task.Run(() => _destination.Flush(remaining)).ConfigureAwait(false);
        if (!flushed)
            _logger.LogWarning("Shutdown: {Sink} did not deliver everything within {Timeout}", _destination.Name, timeout);
    }

    private static TimeSpan Remaining(DateTime deadline)
    {
        var left = deadline - DateTime.UtcNow;
        return left > TimeSpan.Zero ? left : TimeSpan.Zero;
    }

    private void FlushLocked(FlushReason reason)
    {
        var batch = _current;
        if (batch == null || batch.Count == 0) return; // empty flushes send nothing
        _current = null;
        batch.Reason = reason;
        SinkMetrics.Flushes(reason).Inc();
        _ready.Add(batch);
    }

    private void SinkLoop()
    {
        foreach (var batch in _ready.GetConsumingEnumerable())
        {
            try
            {
                _payload.ResetWrittenCount();
                _marshaller.Write(batch.Records, batch.Sizes, _payload);
                _marshalErrors.Success();
                SinkMetrics.RecordsEmitted.Inc(batch.Count);
                _destination.Send(new OutgoingEnvelope(_payload.WrittenMemory, batch.Records, batch.Sizes, _marshaller));
            }
            catch (Exception e)
            {
                // A bug in a marshaller or destination must not kill the sink thread (and with it collection).
                _batcherCounters.Errors.Inc();
                _marshalErrors.Failure(e, $"envelope of {batch.Count} rows lost");
            }
            finally
            {
                batch.Reset();
                lock (_lock)
                {
                    _free.Push(batch);
                    Monitor.PulseAll(_lock);
                }
            }
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        ShutdownAsync(TimeSpan.FromSeconds(5)).GetAwaiter().GetResult();
        // _ready is deliberately not disposed: if the sink thread outlived the shutdown timeout it may
        // still be enumerating it, and an ObjectDisposedException there would kill the process. The
        // destination's own calls fail safely (the sink loop catches everything per envelope).
        _destination.Dispose();
    }
}
