using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using XtcpEpoll.Sinks.Batching;
using XtcpEpoll.Sinks.Metrics;

namespace XtcpEpoll.Sinks.Destinations;

/// <summary>
/// kafka:BROKER[,BROKER...]: one envelope per Kafka message, idempotent producer, acks=all.
/// <para>
/// Delivery that survives outages without losing or duplicating: envelopes first go into our own
/// bounded queue (KafkaQueueMaxEnvelopes / KafkaQueueMaxBytes); a pump thread hands at most
/// KafkaMaxInFlightEnvelopes of them to librdkafka, which retries them forever
/// (message.timeout.ms=0) with idempotent sequence numbers, so a broker outage neither loses nor
/// duplicates them. While brokers are down the in-flight set stays put and new envelopes wait in
/// our queue; collection keeps running. Only when the queue bound is exceeded are the OLDEST queued
/// envelopes dropped (counted in xtcp_kafka_dropped_envelopes_total, logged once per episode).
/// A failed delivery report is counted (outcome="failed") and, when the error is transient,
/// re-queued at the front; a permanent error (e.g. message too large) is logged.
/// </para>
/// </summary>
public sealed class KafkaDestination : IDestination
{
    private readonly IProducer<Null, byte[]> _producer;
    private readonly string _topic;
    private readonly int _maxQueued;
    private readonly long _maxQueuedBytes;
    private readonly int _maxInFlight;
    private readonly ILogger _logger;
    private readonly object _lock = new();
    private readonly LinkedList<byte[]> _queue = new();
    private readonly Thread _pump;
    private readonly Action<DeliveryReport<Null, byte[]>> _onDelivery;
    private readonly DestinationCounters _counters = new("kafka");
    private readonly Prometheus.Counter.Child _persisted = SinkMetrics.KafkaDeliveries.WithLabels("persisted");
    private readonly Prometheus.Counter.Child _failed = SinkMetrics.KafkaDeliveries.WithLabels("failed");
    private readonly ErrorEpisode _brokerEpisode;
    private readonly ErrorEpisode _deliveryEpisode;
    private long _queuedBytes;
    private int _inFlight;
    private bool _stopping;
    private bool _dropEpisode;
    private long _dropped;
    private long _persistedCount;

    public KafkaDestination(IReadOnlyList<string> brokers, SinkOptions options, ILogger logger)
    {
        _topic = options.Topic;
        _maxQueued = options.KafkaQueueMaxEnvelopes;
        _maxQueuedBytes = options.KafkaQueueMaxBytes;
        _maxInFlight = Math.Max(1, options.KafkaMaxInFlightEnvelopes);
        _logger = logger;
        _brokerEpisode = new ErrorEpisode(logger, "kafka brokers " + string.Join(",", brokers));
        _deliveryEpisode = new ErrorEpisode(logger, "kafka delivery to " + _topic);
        var config = new ProducerConfig(KafkaProducerSettings.Effective(brokers, options));
        _producer = new ProducerBuilder<Null, byte[]>(config)
            .SetLogHandler((_, m) => _logger.LogDebug("librdkafka {Facility}: {Message}", m.Facility, m.Message))
            .SetErrorHandler((_, e) => OnClientError(e))
            .Build();
        _onDelivery = OnDelivery;
        _pump = new Thread(PumpLoop) { IsBackground = true, Name = "xtcp-kafka-pump" };
        _pump.Start();
    }

    public string Name => "kafka";

    /// <summary>Envelopes queued in front of the producer plus those in flight.</summary>
    public int Depth { get { lock (_lock) return _queue.Count + _inFlight; } }

    /// <summary>Envelopes handed to librdkafka and not yet acknowledged.</summary>
    public int InFlight { get { lock (_lock) return _inFlight; } }

    public long Dropped => Interlocked.Read(ref _dropped);
    public long Persisted => Interlocked.Read(ref _persistedCount);

    public void Send(in OutgoingEnvelope envelope)
    {
        var value = envelope.Payload.ToArray(); // the queue owns it until the broker acknowledged it
        lock (_lock)
        {
            _queue.AddLast(value);
            _queuedBytes += value.Length;
            DropOldestBeyondBound();
            UpdateDepth();
            Monitor.PulseAll(_lock);
        }
    }

    private void DropOldestBeyondBound()
    {
        var dropped = 0;
        while (_queue.Count > 1 && (_queue.Count > _maxQueued || _queuedBytes > _maxQueuedBytes))
        {
            _queuedBytes -= _queue.First!.Value.Length;
            _queue.RemoveFirst();
            dropped++;
        }
        if (dropped == 0) return;
        Interlocked.Add(ref _dropped, dropped);
        SinkMetrics.KafkaDroppedEnvelopes.Inc(dropped);
        if (!_dropEpisode)
        {
            _dropEpisode = true;
            _logger.LogError("Kafka queue full ({Max} envelopes / {MaxBytes} bytes): dropping the oldest envelopes until deliveries resume (counted in xtcp_kafka_dropped_envelopes_total)",
                _maxQueued, _maxQueuedBytes);
        }
    }

    private void UpdateDepth() => SinkMetrics.KafkaQueueDepth.Set(_queue.Count + _inFlight);

    private void PumpLoop()
    {
        while (true)
        {
            byte[] value;
            lock (_lock)
            {
                while (!_stopping && (_queue.Count == 0 || _inFlight >= _maxInFlight))
                    Monitor.Wait(_lock);
                if (_stopping) return;
                value = _queue.First!.Value;
                _queue.RemoveFirst();
                _queuedBytes -= value.Length;
                _inFlight++;
            }
            try
            {
                _producer.Produce(_topic, new Message<Null, byte[]> { Value = value }, _onDelivery);
                _counters.Sent(value.Length);
            }
            catch (ProduceException<Null, byte[]> e) when (e.Error.Code != ErrorCode.Local_QueueFull)
            {
                // Permanent (message too large, bad topic...): retrying would wedge the queue forever.
                _counters.Errors.Inc();
                _failed.Inc();
                _deliveryEpisode.Failure(e, $"envelope of {value.Length} bytes rejected: {e.Error.Reason} ({e.Error.Code}); dropped");
                lock (_lock)
                {
                    _inFlight--;
                    UpdateDepth();
                }
            }
            catch (Exception e) when (e is KafkaException or InvalidOperationException)
            {
                // Local queue full or a transient client error: put it back in front and retry shortly.
                _counters.Errors.Inc();
                _brokerEpisode.Failure(e, "produce failed: " + e.Message);
                lock (_lock)
                {
                    _inFlight--;
                    _queue.AddFirst(value);
                    _queuedBytes += value.Length;
                    Monitor.Wait(_lock, 100);
                }
            }
        }
    }

    private void OnDelivery(DeliveryReport<Null, byte[]> report)
    {
        if (!report.Error.IsError)
        {
            _persisted.Inc();
            Interlocked.Increment(ref _persistedCount);
            _deliveryEpisode.Success();
            _brokerEpisode.Success();
            lock (_lock)
            {
                _inFlight--;
                _dropEpisode = false;
                UpdateDepth();
                Monitor.PulseAll(_lock);
            }
            return;
        }
        _failed.Inc();
        _counters.Errors.Inc();
        var transient = IsTransient(report.Error.Code);
        _deliveryEpisode.Failure(null, $"delivery failed: {report.Error.Reason} ({report.Error.Code}); " + (transient ? "re-queued" : "envelope dropped"));
        lock (_lock)
        {
            _inFlight--;
            if (transient)
            {
                _queue.AddFirst(report.Message.Value);
                _queuedBytes += report.Message.Value.Length;
                DropOldestBeyondBound();
            }
            UpdateDepth();
            Monitor.PulseAll(_lock);
        }
    }

    private static bool IsTransient(ErrorCode code) => code is ErrorCode.Local_MsgTimedOut or ErrorCode.Local_Transport
        or ErrorCode.Local_AllBrokersDown or ErrorCode.Local_TimedOut or ErrorCode.RequestTimedOut or ErrorCode.NotEnoughReplicas
        or ErrorCode.NotEnoughReplicasAfterAppend or ErrorCode.LeaderNotAvailable or ErrorCode.NotLeaderForPartition
        or ErrorCode.NetworkException or ErrorCode.Local_Retry;

    private void OnClientError(Error error)
    {
        if (error.IsFatal)
            _logger.LogCritical("Kafka producer fatal error: {Reason} ({Code})", error.Reason, error.Code);
        else
            _brokerEpisode.Failure(null, $"{error.Reason} ({error.Code}); envelopes wait in the bounded queue");
    }

    public bool Flush(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        lock (_lock)
        {
            while (_queue.Count + _inFlight > 0)
            {
                var left = deadline - DateTime.UtcNow;
                if (left <= TimeSpan.Zero) break;
                Monitor.Wait(_lock, left);
            }
        }
        var remaining = deadline - DateTime.UtcNow;
        _producer.Flush(remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero);
        lock (_lock) return _queue.Count + _inFlight == 0;
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _stopping = true;
            Monitor.PulseAll(_lock);
        }
        _pump.Join();
        _producer.Dispose();
    }
}
