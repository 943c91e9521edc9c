using Prometheus;
using XtcpEpoll.Sinks.Batching;
using XtcpEpoll.Sinks.Metrics;
using Xunit;

namespace XtcpEpoll.Tests.Sinks;

public class SinkMetricsTests
{
    [Fact]
    public async Task Binding_metric_names_are_exported_with_their_labels()
    {
        foreach (var reason in Enum.GetValues<FlushReason>()) SinkMetrics.Flushes(reason).Inc(0);
        _ = new DestinationCounters("null");
        SinkMetrics.KafkaDeliveries.WithLabels("persisted").Inc(0);
        SinkMetrics.RecordsEmitted.Inc(0);
        SinkMetrics.KafkaDroppedEnvelopes.Inc(0);
        SinkMetrics.KafkaQueueDepth.Inc(0);
        var stream = new MemoryStream();
        await Prometheus.Metrics.DefaultRegistry.CollectAndExportAsTextAsync(stream);
        var text = System.Text.Encoding.UTF8.GetString(stream.ToArray());
        foreach (var expected in new[]
        {
            "xtcp_records_emitted_total", "xtcp_envelope_flushes_total{reason=\"poll_end\"}",
            "xtcp_envelope_flushes_total{reason=\"poll_timeout\"}", "xtcp_envelope_flushes_total{reason=\"rows_cap\"}",
            "xtcp_envelope_flushes_total{reason=\"size_cap\"}", "xtcp_envelope_flushes_total{reason=\"shutdown\"}",
            "xtcp_sink_sends_total{sink=\"null\"}", "xtcp_sink_bytes_total{sink=\"null\"}", "xtcp_sink_errors_total{sink=\"null\"}",
            "xtcp_kafka_deliveries_total{outcome=\"persisted\"}", "xtcp_kafka_queue_depth", "xtcp_kafka_dropped_envelopes_total",
        })
            Assert.Contains(expected, text);
    }
}
