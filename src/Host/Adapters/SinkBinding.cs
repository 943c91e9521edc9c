using Microsoft.Extensions.Logging;
using XtcpEpoll.Host.Config;
using XtcpEpoll.Sinks.Batching;

namespace XtcpEpoll.Host.Adapters;

/// <summary>
/// Thin seam over the Sinks area: destination validation and the construction of the EnvelopeBatcher
/// (marshaller + destination) that both live collection and replay feed.
/// </summary>
public static class SinkBinding
{
    // TEMPORARY until branch sinks lands.
    public static bool TryValidateDestination(string text, out string value, out string error)
    {
        value = text.Trim();
        error = "";
        if (value is "null" or "stdout" || value.StartsWith("file:", StringComparison.Ordinal) && value.Length > 5)
            return true;
        error = "expected null, stdout, file:PATH, tcp:HOST:PORT, udp:HOST:PORT, unix:PATH, unixgram:PATH, http(s)://URL or kafka:BROKER[,BROKER]";
        return false;
    }

    public static IRecordSink CreateSink(OutputSettings output, ILoggerFactory loggers)
        => throw new NotSupportedException($"sinks not merged yet ({output.Dest}, {loggers})");

    /// <summary>Is the sink currently able to deliver (for /readyz)?</summary>
    public static bool IsHealthy(IRecordSink sink) => sink != null;
}
