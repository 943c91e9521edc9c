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
public sealed class KafkaDestination : QueuedDestination
{
    private static readonly TimeSpan LocalRetryDelay = TimeSpan.FromMilliseconds(100);

    private readonly IProducer<Null, byte[]> _producer;
    private readonly string _topic;
    private readonly ILogger _logger;
    private readonly Action<DeliveryReport<Null, byte[]>> _onDelivery;
    private readonly Prometheus.Counter.Child _persisted = SinkMetrics.KafkaDeliveries.WithLabels("persisted");
    private readonly Prometheus.Counter.Child _failed = SinkMetrics.KafkaDeliveries.WithLabels("failed");
    private readonly ErrorEpisode _brokerEpisode;
    private readonly ErrorEpisode _deliveryEpisode;
    private long _persistedCount;
    private long _clientErrors;
    private string? _lastClientError;

    public KafkaDestination(IReadOnlyList<string> brokers, SinkOptions options, ILogger logger)
        : base("kafka", new OutageQueue(options.KafkaQueueMaxEnvelopes, options.KafkaQueueMaxBytes, SinkMetrics.KafkaDroppedEnvelopes, logger, "Kafka"),
            SinkMetrics.KafkaQueueDepth, options.KafkaMaxInFlightEnvelopes, workerName: "xtcp-kafka-pump")
    {
        _topic = options.Topic;
        _logger = logger;
        _brokerEpisode = new ErrorEpisode(logger, "kafka brokers " + string.Join(",", brokers));
        _deliveryEpisode = new ErrorEpisode(logger, "kafka delivery to " + _topic);
        var config = new ProducerConfig(KafkaProducerSettings.Effective(brokers, options));
        _producer = new ProducerBuilder<Null, byte[]>(config)
            .SetLogHandler((_, m) => _logger.LogDebug("librdkafka {Facility}: {Message}", m.Facility, m.Message))
            .SetErrorHandler((_, e) => OnClientError(e))
            .Build();
        _onDelivery = OnDelivery;
        StartWorker();
    }

    public long Persisted => Interlocked.Read(ref _persistedCount);

    /// <summary>The pump: hands one envelope to librdkafka; its delivery report completes it.</summary>
    protected override void Work(byte[] value)
    {
        try
        {
            _producer.Produce(_topic, new Message<Null, byte[]> { Value = value }, _onDelivery);
            Counters.Sent(value.Length);
        }
        catch (ProduceException<Null, byte[]> e) when (e.Error.Code != ErrorCode.Local_QueueFull)
        {
            // Permanent (message too large, bad topic...): retrying would wedge the queue forever.
            Counters.Errors.Inc();
            _failed.Inc();
            _deliveryEpisode.Failure(e, $"envelope of {value.Length} bytes rejected: {e.Error.Reason} ({e.Error.Code}); dropped");
            Complete(value, Outcome.Dropped);
        }
        catch (Exception e) when (e is KafkaException or InvalidOperationException)
        {
            // Local queue full or a transient client error: put it back in front and retry shortly.
            Counters.Errors.Inc();
            _brokerEpisode.Failure(e, "produce failed: " + e.Message);
            Complete(value, Outcome.Retry);
            WaitBeforeRetry(LocalRetryDelay);
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
            Complete(report.Message.Value, Outcome.Delivered);
            return;
        }
        _failed.Inc();
        Counters.Errors.Inc();
        var transient = IsTransient(report.Error.Code);
        _deliveryEpisode.Failure(null, $"delivery failed: {report.Error.Reason} ({report.Error.Code}); " + (transient ? "re-queued" : "envelope dropped"));
        Complete(report.Message.Value, transient ? Outcome.Retry : Outcome.Dropped);
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
        Counters.Errors.Inc();
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

    /// <summary>Waits for our queue and the in-flight set, then lets librdkafka finish what it still holds.</summary>
    public override bool Flush(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        WaitUntilDrained(deadline);
        var remaining = deadline - DateTime.UtcNow;
        _producer.Flush(remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero);
        return Depth == 0;
    }

    protected override void DisposeTransport() => _producer.Dispose();
}
