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
    /// <summary>
    /// --kafka-config / --kafka-config-file: librdkafka properties (TLS, SASL, tuning) over our defaults
    /// (<see cref="KafkaProducerSettings.Effective"/>); each is checked by <see cref="KafkaProducerSettings.CheckProperty"/>.
    /// </summary>
    public IDictionary<string, string> KafkaProperties { get; } = new Dictionary<string, string>();

    /// <summary>HTTP POST timeout.</summary>
    public TimeSpan HttpTimeout { get; set; } = TimeSpan.FromSeconds(10);
    /// <summary>--http-ca-file: PEM bundle of CAs trusted for https:// in addition to the system store.</summary>
    public string? HttpCaFile { get; set; }
    /// <summary>--http-client-cert: PEM certificate (and intermediates) presented for mutual TLS.</summary>
    public string? HttpClientCertificateFile { get; set; }
    /// <summary>--http-client-key: PEM private key of <see cref="HttpClientCertificateFile"/> (unencrypted).</summary>
    public string? HttpClientKeyFile { get; set; }
    /// <summary>--http-header: extra headers on every POST (e.g. Authorization), checked by <see cref="HttpHeaderRules"/>.</summary>
    public IList<KeyValuePair<string, string>> HttpHeaders { get; } = new List<KeyValuePair<string, string>>();
    /// <summary>--http-queue-max-envelopes: envelopes held while the endpoint is unreachable or refusing; beyond it the oldest are dropped.</summary>
    public int HttpQueueMaxEnvelopes { get; set; } = 1_000;
    /// <summary>--http-queue-max-bytes: byte bound of the same queue (256 MiB).</summary>
    public long HttpQueueMaxBytes { get; set; } = 256L << 20;
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
    public static readonly IntegerRange HttpQueueMaxEnvelopesRange = new(1, 1_000_000);
    public static readonly IntegerRange HttpQueueMaxBytesRange = new(1024, 1L << 40);

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
        if (!DestinationSpec.TryParse(Dest, out var spec, out message)) return OptionError.FromMessage("dest", Dest, message);
        return KafkaTopic.Check("topic", Topic)
            ?? EnvelopeFlushBytesRange.Check("envelope-flush-bytes", EnvelopeFlushBytes)
            ?? EnvelopeFlushRowsRange.Check("envelope-flush-rows", EnvelopeFlushRows)
            ?? SinkQueueEnvelopesRange.Check("sink-queue-envelopes", SinkQueueEnvelopes)
            ?? KafkaProducerSettings.Compressions.Check("kafka-compression", KafkaCompression)
            ?? KafkaQueueMaxEnvelopesRange.Check("kafka-queue-max-envelopes", KafkaQueueMaxEnvelopes)
            ?? KafkaQueueMaxBytesRange.Check("kafka-queue-max-bytes", KafkaQueueMaxBytes)
            ?? HoldsAnEnvelope("kafka-queue-max-bytes", KafkaQueueMaxBytes)
            ?? KafkaPropertiesError(spec.Kind)
            ?? HttpQueueMaxEnvelopesRange.Check("http-queue-max-envelopes", HttpQueueMaxEnvelopes)
            ?? HttpQueueMaxBytesRange.Check("http-queue-max-bytes", HttpQueueMaxBytes)
            ?? HoldsAnEnvelope("http-queue-max-bytes", HttpQueueMaxBytes)
            ?? HttpError(spec);
    }

    /// <summary>An outage queue's byte bound must hold at least one whole envelope.</summary>
    private OptionError? HoldsAnEnvelope(string option, long queueBytes) => queueBytes >= EnvelopeFlushBytes ? null
        : new OptionError(option, queueBytes.ToString(CultureInfo.InvariantCulture),
            $"must be at least --envelope-flush-bytes ({EnvelopeFlushBytes.ToString(CultureInfo.InvariantCulture)})");

    /// <summary>An option that would do nothing with this destination is a mistake, refused like a bad value.</summary>
    private static OptionError NotFor(string option, string value, string destinations) => new(option, value, OnlyFor(destinations));

    private OptionError? KafkaPropertiesError(DestinationKind kind)
    {
        foreach (var (key, value) in KafkaProperties)
        {
            if (KafkaPropertyError(kind, key, value) is { } rule)
                return new OptionError("kafka-config", $"{key}={KafkaProducerSettings.Display(key, value)}", rule);
        }
        return null;
    }

    /// <summary>The rule one --kafka-config property breaks with this destination, or null (the CLI checks each item as read).</summary>
    public string? KafkaPropertyError(DestinationKind kind, string key, string value)
        => kind != DestinationKind.Kafka ? OnlyFor("kafka:") : KafkaProducerSettings.CheckProperty(key, value, this);

    /// <summary>The rule one --http-header breaks with this destination, or null.</summary>
    public static string? HttpHeaderError(DestinationKind kind, string name, string value)
        => kind != DestinationKind.Http ? OnlyFor("http:// and https://") : HttpHeaderRules.Check(name, value);

    /// <summary>How a header is shown (credentials masked).</summary>
    public static string DisplayHeader(string name, string value) => $"{name}={(HttpHeaderRules.IsSecret(name) ? KafkaProducerSettings.Masked : value)}";

    private static string OnlyFor(string destinations) => $"applies only to {destinations} destinations";

    private OptionError? HttpError(DestinationSpec spec)
    {
        var https = spec.Kind == DestinationKind.Http && spec.Uri!.Scheme == Uri.UriSchemeHttps;
        foreach (var (name, value) in HttpHeaders)
        {
            if (HttpHeaderError(spec.Kind, name, value) is { } rule) return new OptionError("http-header", DisplayHeader(name, value), rule);
        }
        if (!string.IsNullOrEmpty(HttpCaFile) && !https) return NotFor("http-ca-file", HttpCaFile, "https://");
        var certificate = HttpClientCertificateFile ?? "";
        var key = HttpClientKeyFile ?? "";
        if (certificate.Length > 0 && !https) return NotFor("http-client-cert", certificate, "https://");
        if (key.Length > 0 && !https) return NotFor("http-client-key", key, "https://");
        if (certificate.Length > 0 && key.Length == 0) return new OptionError("http-client-cert", certificate, "needs --http-client-key (the certificate's private key)");
        if (key.Length > 0 && certificate.Length == 0) return new OptionError("http-client-key", key, "needs --http-client-cert (the certificate it belongs to)");
        if (!string.IsNullOrEmpty(HttpCaFile) && LoadError(() => HttpsTrust.LoadCaBundle(HttpCaFile)) is { } caError)
            return new OptionError("http-ca-file", HttpCaFile, caError);
        if (certificate.Length > 0 && LoadError(() => HttpsTrust.LoadClientCertificate(certificate, key).Leaf.Dispose()) is { } certificateError)
            return new OptionError("http-client-cert", certificate, $"cannot be used with --http-client-key {key}: {certificateError}");
        return null;
    }

    /// <summary>Loads a PEM file the way the destination will; null when that works, else why not.</summary>
    private static string? LoadError(Action load)
    {
        try
        {
            load();
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException or ArgumentException)
        {
            return e.Message.ReplaceLineEndings(" ").Trim();
        }
    }
}
