using Prometheus;
using XtcpEpoll.Sinks.Batching;

namespace XtcpEpoll.Sinks.Metrics;

/// <summary>The sink metrics (prometheus-net default registry; names are binding, the harness scrapes them).</summary>
public static class SinkMetrics
{
    public static readonly Counter RecordsEmitted = Prometheus.Metrics.CreateCounter(
        "xtcp_records_emitted_total", "Records marshalled into envelopes and handed to the destination.");

    public static readonly Counter EnvelopeFlushes = Prometheus.Metrics.CreateCounter(
        "xtcp_envelope_flushes_total", "Non-empty envelopes flushed, by reason.", "reason");

    public static readonly Counter SinkSends = Prometheus.Metrics.CreateCounter(
        "xtcp_sink_sends_total", "Payloads (messages, datagrams, requests, writes) sent by a destination.", "sink");

    public static readonly Counter SinkBytes = Prometheus.Metrics.CreateCounter(
        "xtcp_sink_bytes_total", "Payload bytes sent by a destination.", "sink");

    public static readonly Counter SinkErrors = Prometheus.Metrics.CreateCounter(
        "xtcp_sink_errors_total", "Failed sends (connect, write, HTTP status, datagram too big, marshal).", "sink");

    public static readonly Counter KafkaDeliveries = Prometheus.Metrics.CreateCounter(
        "xtcp_kafka_deliveries_total", "Kafka delivery reports by outcome (persisted|failed).", "outcome");

    public static readonly Gauge KafkaQueueDepth = Prometheus.Metrics.CreateGauge(
        "xtcp_kafka_queue_depth", "Envelopes waiting for Kafka: queued in front of the producer plus in flight.");

    public static readonly Counter KafkaDroppedEnvelopes = Prometheus.Metrics.CreateCounter(
        "xtcp_kafka_dropped_envelopes_total", "Oldest envelopes dropped because the bounded Kafka queue was full.");

    public static readonly Gauge HttpQueueDepth = Prometheus.Metrics.CreateGauge(
        "xtcp_http_queue_depth", "Envelopes waiting for the http(s) endpoint: queued plus the one being posted.");

    public static readonly Counter HttpDroppedEnvelopes = Prometheus.Metrics.CreateCounter(
        "xtcp_http_dropped_envelopes_total", "Oldest envelopes dropped because the bounded http(s) queue was full.");

    private static readonly Counter.Child[] FlushesByReason = Array.ConvertAll(
        Enum.GetValues<FlushReason>(), reason => EnvelopeFlushes.WithLabels(LabelOf(reason)));

    // Both delivery outcomes exist at 0 from the start, so the first failure is an increase that alerts see.
    static SinkMetrics()
    {
        KafkaDeliveries.WithLabels("persisted");
        KafkaDeliveries.WithLabels("failed");
    }

    public static Counter.Child Flushes(FlushReason reason) => FlushesByReason[(int)reason];

    public static string LabelOf(FlushReason reason) => reason switch
    {
        FlushReason.PollEnd => "poll_end",
        FlushReason.PollTimeout => "poll_timeout",
        FlushReason.RowsCap => "rows_cap",
        FlushReason.SizeCap => "size_cap",
        _ => "shutdown",
    };
}

/// <summary>A destination's send/bytes/error counters, resolved once (no label lookup per send).</summary>
public sealed class DestinationCounters(string sink)
{
    public string Sink { get; } = sink;
    public readonly Counter.Child Sends = SinkMetrics.SinkSends.WithLabels(sink);
    public readonly Counter.Child Bytes = SinkMetrics.SinkBytes.WithLabels(sink);
    public readonly Counter.Child Errors = SinkMetrics.SinkErrors.WithLabels(sink);

    public void Sent(int bytes)
    {
        Sends.Inc();
        Bytes.Inc(bytes);
    }
}
