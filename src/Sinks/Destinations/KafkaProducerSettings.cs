using System.Globalization;
using XtcpEpoll.Sinks.Batching;
using XtcpEpoll.Sinks.Options;

namespace XtcpEpoll.Sinks.Destinations;

/// <summary>
/// The librdkafka properties of the Kafka destination's producer, in one place: our defaults (the delivery
/// guarantee and tuning) overlaid with <see cref="SinkOptions.KafkaProperties"/>. The producer is built from
/// <see cref="Effective"/> and --print-config shows the same dictionary.
/// </summary>
public static class KafkaProducerSettings
{
    /// <summary>--kafka-compression names; librdkafka's compression.type takes the same words.</summary>
    public static readonly NameSet Compressions = new("zstd", "lz4", "snappy", "gzip", "none");

    /// <summary>Every property the producer is created with, sorted by name.</summary>
    public static SortedDictionary<string, string> Effective(IReadOnlyList<string> brokers, SinkOptions options)
    {
        var properties = new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            ["bootstrap.servers"] = string.Join(",", brokers),
            ["client.id"] = "xtcp-epoll",
            // Idempotent, acknowledged by every in-sync replica, retried without limit (message.timeout.ms=0):
            // a broker outage neither loses nor duplicates an envelope; our own queue is the bound.
            ["enable.idempotence"] = "true",
            ["acks"] = "all",
            ["message.timeout.ms"] = "0",
            ["linger.ms"] = "5",
            ["compression.type"] = options.KafkaCompression,
            ["message.max.bytes"] = Math.Max(1_000_000, options.EnvelopeFlushBytes + 65_536).ToString(CultureInfo.InvariantCulture),
        };
        foreach (var (key, value) in options.KafkaProperties)
            properties[key] = value;
        return properties;
    }
}
