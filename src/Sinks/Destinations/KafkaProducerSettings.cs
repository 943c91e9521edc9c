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

    /// <summary>Printed instead of a secret value (--print-config, error lines, logs).</summary>
    public const string Masked = "******";

    /// <summary>
    /// librdkafka's verdict and ours on one property of <see cref="SinkOptions.KafkaProperties"/>: null when
    /// accepted, else the rule it breaks (one line, saying why). Our refusals come first: keys that would
    /// break the delivery guarantee, keys another option owns; then librdkafka's own check (unknown key,
    /// bad value), in its own words.
    /// </summary>
    public static string? CheckProperty(string key, string value, SinkOptions options)
    {
        switch (key)
        {
            case "enable.idempotence" when !value.Trim().Equals("true", StringComparison.OrdinalIgnoreCase):
                return "enable.idempotence must stay true: without it a retried request can write an envelope twice or out of order";
            case "acks" or "request.required.acks" when value.Trim() is not ("all" or "-1"):
                return $"{key} must stay all: with fewer acknowledgements an envelope the broker confirmed is lost when its partition leader fails";
            case "message.timeout.ms" or "delivery.timeout.ms":
                return $"{key} is fixed at 0 (retry until delivered): a timeout would drop envelopes during a broker outage; the bound is --kafka-queue-max-envelopes and --kafka-queue-max-bytes";
            case "transactional.id":
                return "transactions are not used: the idempotent producer already writes each envelope once, and a transactional producer cannot send before transactions are initialised";
            case "bootstrap.servers" or "metadata.broker.list":
                return "the brokers are set by --dest kafka:HOST:PORT[,HOST:PORT...]";
            case "compression.type" or "compression.codec":
                return "the codec is set by --kafka-compression";
            case "message.max.bytes" when long.TryParse(value.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var max) && max < MessageMaxBytes(options):
                return $"message.max.bytes must be at least {MessageMaxBytes(options)} (--envelope-flush-bytes plus framing): a larger envelope would be refused and dropped";
        }
        return Librdkafka.CheckProperty(key, value);
    }

    /// <summary>Keys whose values are secrets: masked wherever they are shown.</summary>
    public static bool IsSecret(string key)
        => key.Contains("password", StringComparison.OrdinalIgnoreCase) || key.Contains("secret", StringComparison.OrdinalIgnoreCase)
           || key.StartsWith("sasl.oauthbearer.", StringComparison.OrdinalIgnoreCase) || key == "ssl.key.pem";

    /// <summary>Keys whose values name a file holding a private key (its permissions are checked like a secret's).</summary>
    public static bool IsSecretFile(string key) => key is "ssl.key.location" or "ssl.keystore.location";

    /// <summary>The value as it may be shown: <see cref="Masked"/> for secrets.</summary>
    public static string Display(string key, string value) => IsSecret(key) ? Masked : value;

    private static long MessageMaxBytes(SinkOptions options) => Math.Max(1_000_000, options.EnvelopeFlushBytes + 65_536);

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
            ["message.max.bytes"] = MessageMaxBytes(options).ToString(CultureInfo.InvariantCulture),
        };
        foreach (var (key, value) in options.KafkaProperties)
            properties[key] = value;
        return properties;
    }
}
