using Microsoft.Extensions.Logging;
using XtcpEpoll.Host.Config;
using XtcpEpoll.Sinks.Batching;
using XtcpEpoll.Sinks.Destinations;
using XtcpEpoll.Sinks.Marshal;
using XtcpEpoll.Sinks.Options;

namespace XtcpEpoll.Host.Adapters;

/// <summary>
/// Seam over the Sinks area: destination/marshaller validation with the Sinks' own rules, and the
/// EnvelopeBatcher (marshaller + destination) that both live collection and replay feed.
/// </summary>
public static class SinkBinding
{
    public static readonly NameSet MarshalNames = new(MarshallerFactory.Names);

    public static bool TryParseDestination(string text, out DestinationSpec value, out string error)
        => DestinationSpec.TryParse(text.Trim(), out value, out error);

    /// <summary>Builds the sink; a destination that cannot be opened is a <see cref="ConfigException"/> (exit 2).</summary>
    public static EnvelopeBatcher CreateSink(OutputSettings output, ILoggerFactory loggers)
    {
        if (!EnvelopeBatcher.TryCreate(output.Sink, loggers, out var batcher, out var error))
            throw new ConfigException(error);
        return batcher;
    }
}
