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
    private readonly int _maxInFlight;
    private readonly ILogger _logger;
    private readonly object _lock = new();
    private readonly OutageQueue _queue;
    private readonly Thread _pump;
    private readonly Action<DeliveryReport<Null, byte[]>> _onDelivery;
    private readonly DestinationCounters _counters = new("kafka");
    private readonly Prometheus.Counter.Child _persisted = SinkMetrics.KafkaDeliveries.WithLabels("persisted");
    private readonly Prometheus.Counter.Child _failed = SinkMetrics.KafkaDeliveries.WithLabels("failed");
    private readonly ErrorEpisode _brokerEpisode;
    private readonly ErrorEpisode _deliveryEpisode;
    private int _inFlight;
    private bool _stopping;
    private long _persistedCount;
    private long _clientErrors;
    private string? _lastClientError;

    public KafkaDestination(IReadOnlyList<string> brokers, SinkOptions options, ILogger logger)
    {
        _topic = options.Topic;
        _queue = new OutageQueue(options.KafkaQueueMaxEnvelopes, options.KafkaQueueMaxBytes, SinkMetrics.KafkaDroppedEnvelopes, logger, "Kafka");
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

    public long Dropped => _queue.Dropped;
    public long Persisted => Interlocked.Read(ref _persistedCount);

    public void Send(in OutgoingEnvelope envelope)
    {
        var value = envelope.Payload.ToArray(); // the queue owns it until the broker acknowledged it
        lock (_lock)
        {
            _queue.Add(value);
            UpdateDepth();
            Monitor.PulseAll(_lock);
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
                while (!_stopping && (_queue.IsEmpty || _inFlight >= _maxInFlight))
                    Monitor.Wait(_lock);
                if (_stopping) return;
                value = _queue.Take();
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
                    _queue.Return(value);
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
                _queue.Delivered();
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
                _queue.Return(report.Message.Value);
            }
            UpdateDepth();
            Monitor.PulseAll(_lock);
        }
    }

    private static bool IsTransient(ErrorCode code) => code is ErrorCode.Local_MsgTimedOut or ErrorCode.Local_Transport
        or ErrorCode.Local_AllBrokersDown or ErrorCode.Local_TimedOut or ErrorCode.RequestTimedOut or ErrorCode.NotEnoughReplicas
        or ErrorCode.NotEnoughReplicasAfterAppend or ErrorCode.LeaderNotAvailable or ErrorCode.NotLeaderForPartition
        or ErrorCode.NetworkException or ErrorCode.Local_Retry;

    /// <summary>
    /// Connection-level errors: brokers down, a TLS handshake refused (librdkafka's line names the broker and
    /// the reason, e.g. "certificate verify failed"), SASL authentication failed. Each is counted as a sink
    /// error (so /readyz turns unready while nothing is delivered); envelopes stay queued and librdkafka
    /// keeps reconnecting, so fixing the broker side (or its credentials) loses nothing.
    /// </summary>
    private void OnClientError(Error error)
    {
        // "1/1 brokers are down" follows the failure that caused it: keep the cause as the last error.
        if (error.Code != ErrorCode.Local_AllBrokersDown || Volatile.Read(ref _lastClientError) == null)
            Volatile.Write(ref _lastClientError, $"{error.Reason} ({error.Code})");
        _counters.Errors.Inc();
        Interlocked.Increment(ref _clientErrors);
        if (error.IsFatal)
            _logger.LogCritical("Kafka producer fatal error: {Reason} ({Code})", error.Reason, error.Code);
        else
            _brokerEpisode.Failure(null, $"{error.Reason} ({error.Code}); envelopes wait in the bounded queue");
    }

    /// <summary>Connection-level errors reported by librdkafka (each also counted in xtcp_sink_errors_total{sink="kafka"}).</summary>
    public long ClientErrors => Interlocked.Read(ref _clientErrors);

    /// <summary>The last of them that says why (not the "brokers are down" that follows), as librdkafka phrased it; null before the first.</summary>
    public string? LastClientError => Volatile.Read(ref _lastClientError);

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
