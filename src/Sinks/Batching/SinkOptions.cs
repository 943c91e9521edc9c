using System.Globalization;
using XtcpEpoll.Sinks.Destinations;
using XtcpEpoll.Sinks.Marshal;
using XtcpEpoll.Sinks.Options;

namespace XtcpEpoll.Sinks.Batching;

/// <summary>Everything the sink side is configured with (the Host maps CLI flags/env onto this).</summary>
public sealed class SinkOptions
{
    /// <summary>--marshal: protobufList (default), jsonl, protoJson, csv, tsv.</summary>
    public string Marshal { get; set; } = ProtobufListMarshaller.MarshalName;
    /// <summary>--dest (see <see cref="DestinationSpec.Usage"/>).</summary>
    public string Dest { get; set; } = "null";
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

    public static readonly IntegerRange EnvelopeFlushBytesRange = new(1024, 1L << 30);
    public static readonly IntegerRange EnvelopeFlushRowsRange = new(1, 10_000_000);
    public static readonly IntegerRange SinkQueueEnvelopesRange = new(1, 1024);
    public static readonly IntegerRange KafkaQueueMaxEnvelopesRange = new(1, 1_000_000);
    public static readonly IntegerRange KafkaQueueMaxBytesRange = new(1024, 1L << 40);

    /// <summary>
    /// Every rule of the sink's options, in one place: the command line, the XTCP_* environment and library
    /// callers (<see cref="EnvelopeBatcher.TryCreate"/>) all get their verdict from here. Null when valid.
    /// </summary>
    public OptionError? Validate()
    {
        if (!MarshallerFactory.TryCreate(Marshal, Columns, out _, out var message))
        {
            var unknownMarshal = MarshallerFactory.Names.AsSpan().IndexOf(Marshal) < 0;
            return unknownMarshal ? OptionError.FromMessage("marshal", Marshal, message) : OptionError.FromMessage("columns", Columns ?? "", message);
        }
        if (!DestinationSpec.TryParse(Dest, out _, out message)) return OptionError.FromMessage("dest", Dest, message);
        return KafkaTopic.Check("topic", Topic)
            ?? EnvelopeFlushBytesRange.Check("envelope-flush-bytes", EnvelopeFlushBytes)
            ?? EnvelopeFlushRowsRange.Check("envelope-flush-rows", EnvelopeFlushRows)
            ?? SinkQueueEnvelopesRange.Check("sink-queue-envelopes", SinkQueueEnvelopes)
            ?? KafkaProducerSettings.Compressions.Check("kafka-compression", KafkaCompression)
            ?? KafkaQueueMaxEnvelopesRange.Check("kafka-queue-max-envelopes", KafkaQueueMaxEnvelopes)
            ?? KafkaQueueMaxBytesRange.Check("kafka-queue-max-bytes", KafkaQueueMaxBytes)
            ?? (KafkaQueueMaxBytes < EnvelopeFlushBytes
                ? new OptionError("kafka-queue-max-bytes", KafkaQueueMaxBytes.ToString(CultureInfo.InvariantCulture),
                    $"must be at least --envelope-flush-bytes ({EnvelopeFlushBytes.ToString(CultureInfo.InvariantCulture)})")
                : null);
    }
}
