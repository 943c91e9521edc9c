using Microsoft.Extensions.Logging;
using XtcpEpoll.Host.Config;
using XtcpEpoll.Sinks.Batching;
using XtcpEpoll.Sinks.Destinations;
using XtcpEpoll.Sinks.Marshal;

namespace XtcpEpoll.Host.Adapters;

/// <summary>
/// Seam over the Sinks area: destination/marshaller validation with the Sinks' own rules, and the
/// EnvelopeBatcher (marshaller + destination) that both live collection and replay feed.
/// </summary>
public static class SinkBinding
{
    public static IReadOnlyList<string> MarshalNames => MarshallerFactory.Names;

    public static bool TryValidateDestination(string text, out string value, out string error)
    {
        value = text.Trim();
        return DestinationSpec.TryParse(value, out _, out error);
    }

    /// <summary>--columns is checked against the record schema (csv/tsv use it; other marshallers ignore it).</summary>
    public static bool TryValidateColumns(string marshal, string columns, out string error)
    {
        var delimited = marshal is DelimitedMarshaller.CsvName or DelimitedMarshaller.TsvName;
        return MarshallerFactory.TryCreate(delimited ? marshal : DelimitedMarshaller.CsvName, Nullable(columns), out _, out error);
    }

    /// <summary>Builds the sink; a destination that cannot be opened is a <see cref="ConfigException"/> (exit 2).</summary>
    public static EnvelopeBatcher CreateSink(OutputSettings output, ILoggerFactory loggers)
    {
        var options = new SinkOptions
        {
            Marshal = output.Marshal,
            Dest = output.Dest,
            FileAppend = output.FileAppend,
            Topic = output.Topic,
            Columns = Nullable(output.Columns),
            EnvelopeFlushBytes = output.EnvelopeFlushBytes,
            EnvelopeFlushRows = output.EnvelopeFlushRows,
            KafkaCompression = output.KafkaCompression,
            KafkaQueueMaxEnvelopes = output.KafkaQueueMaxEnvelopes,
            KafkaQueueMaxBytes = output.KafkaQueueMaxBytes,
            SinkQueueEnvelopes = output.SinkQueueEnvelopes,
        };
        if (!EnvelopeBatcher.TryCreate(options, loggers, out var batcher, out var error))
            throw new ConfigException(error);
        return batcher;
    }

    private static string? Nullable(string text) => string.IsNullOrWhiteSpace(text) ? null : text;
}
