using XtcpEpoll.Sinks.Destinations;
using XtcpEpoll.Sinks.Marshal;

namespace XtcpEpoll.Sinks.Batching;

/// <summary>Everything the sink side is configured with (the Host maps CLI flags/env onto this).</summary>
public sealed class SinkOptions
{
    /// <summary>--marshal: protobufList (default), jsonl, protoJson, csv, tsv.</summary>
    public string Marshal { get; set; } = ProtobufListMarshaller.MarshalName;
    /// <summary>--dest (see <see cref="DestinationSpec.Usage"/>).</summary>
    public string Dest { get; set; } = "null";
    /// <summary>
    /// --file-append (file: destination only): keep an existing file's contents and append. Default false:
    /// the file is truncated when the destination opens, so rerunning a command (a replay) is idempotent.
    /// </summary>
    public bool FileAppend { get; set; }
    /// <summary>--topic (Kafka).</summary>
    public string Topic { get; set; } = "xtcp";
    /// <summary>--columns (csv/tsv only): comma-separated lowerCamelCase field names; null = all.</summary>
    public string? Columns { get; set; }

    /// <summary>--envelope-flush-bytes: flush before an envelope's encoded size would exceed this (768 KiB, xtcp2's default).</summary>
    public long EnvelopeFlushBytes { get; set; } = 786_432;
    /// <summary>--envelope-flush-rows: flush when an envelope holds this many rows.</summary>
    public int EnvelopeFlushRows { get; set; } = 10_000;
    /// <summary>
    /// --sink-queue-envelopes: flushed envelopes that may wait for the sink thread. Bounds memory: when all
    /// are taken, parse workers block in Append until the sink thread frees one (the epoll loop thread
    /// never blocks: EndOfPoll only hands the current envelope over).
    /// </summary>
    public int SinkQueueEnvelopes { get; set; } = 4;

    /// <summary>--kafka-compression: zstd (default), lz4, snappy, gzip, none.</summary>
    public string KafkaCompression { get; set; } = "zstd";
    /// <summary>--kafka-queue-max-envelopes: envelopes kept in memory while Kafka is unreachable; beyond it the oldest are dropped.</summary>
    public int KafkaQueueMaxEnvelopes { get; set; } = 1_000;
    /// <summary>--kafka-queue-max-bytes: byte bound of the same queue (256 MiB).</summary>
    public long KafkaQueueMaxBytes { get; set; } = 256L << 20;
    /// <summary>Envelopes handed to librdkafka at once (the rest wait in our bounded queue).</summary>
    public int KafkaMaxInFlightEnvelopes { get; set; } = 16;
    /// <summary>Extra librdkafka properties (tests, tuning), applied last.</summary>
    public IDictionary<string, string> KafkaProperties { get; } = new Dictionary<string, string>();

    /// <summary>HTTP POST timeout.</summary>
    public TimeSpan HttpTimeout { get; set; } = TimeSpan.FromSeconds(10);
    /// <summary>Largest UDP datagram sent (IPv4 UDP payload limit is 65,507).</summary>
    public int UdpDatagramMaxBytes { get; set; } = 65_000;
    /// <summary>Largest unixgram datagram first tried; halved on EMSGSIZE (the real limit is about SO_SNDBUF).</summary>
    public int UnixgramDatagramMaxBytes { get; set; } = 200 * 1024;
    /// <summary>Longest wait between reconnect attempts of tcp/unix destinations.</summary>
    public TimeSpan ReconnectBackoffMax { get; set; } = TimeSpan.FromSeconds(30);

    public static readonly string[] KafkaCompressions = ["zstd", "lz4", "snappy", "gzip", "none"];

    /// <summary>Checks every value; on failure <paramref name="error"/> is one line naming what to fix.</summary>
    public bool Validate(out string error)
    {
        if (!MarshallerFactory.TryCreate(Marshal, Columns, out _, out error)) return false;
        if (!DestinationSpec.TryParse(Dest, out var spec, out error)) return false;
        if (EnvelopeFlushBytes < 1024)
            return Fail(out error, $"--envelope-flush-bytes {EnvelopeFlushBytes} is too small (at least 1024)");
        if (EnvelopeFlushRows < 1)
            return Fail(out error, $"--envelope-flush-rows {EnvelopeFlushRows} must be at least 1");
        if (SinkQueueEnvelopes < 1)
            return Fail(out error, $"--sink-queue-envelopes {SinkQueueEnvelopes} must be at least 1");
        if (spec.Kind == DestinationKind.Kafka)
        {
            if (Array.IndexOf(KafkaCompressions, KafkaCompression) < 0)
                return Fail(out error, $"--kafka-compression '{KafkaCompression}' is unknown; use one of {string.Join(", ", KafkaCompressions)}");
            if (string.IsNullOrWhiteSpace(Topic))
                return Fail(out error, "--topic is empty");
            if (KafkaQueueMaxEnvelopes < 1 || KafkaQueueMaxBytes < EnvelopeFlushBytes)
                return Fail(out error, "--kafka-queue-max-envelopes must be >= 1 and --kafka-queue-max-bytes >= --envelope-flush-bytes");
        }
        error = "";
        return true;
    }

    private static bool Fail(out string error, string message)
    {
        error = message;
        return false;
    }
}
