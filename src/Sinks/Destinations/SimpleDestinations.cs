using Microsoft.Extensions.Logging;
using XtcpEpoll.Sinks.Metrics;

namespace XtcpEpoll.Sinks.Destinations;

/// <summary>Discards payloads (benchmarks, dry runs) but counts them.</summary>
public sealed class NullDestination : IDestination
{
    private readonly DestinationCounters _counters = new("null");
    public string Name => "null";
    public void Send(in OutgoingEnvelope envelope) => _counters.Sent(envelope.Payload.Length);
    public bool Flush(TimeSpan timeout) => true;
    public void Dispose() { }
}

/// <summary>
/// Appends payloads verbatim to a stream: stdout, or a file opened with O_APPEND. A write error
/// (disk full, EIO) is counted and logged once per episode; the file is reopened at the next send,
/// and the daemon keeps running.
/// </summary>
public sealed class StreamWriteDestination : IDestination
{
    private readonly Func<Stream> _open;
    private readonly DestinationCounters _counters;
    private readonly ErrorEpisode _episode;
    private Stream? _stream;

    private StreamWriteDestination(string name, string what, Func<Stream> open, ILogger logger)
    {
        Name = name;
        _open = open;
        _counters = new DestinationCounters(name);
        _episode = new ErrorEpisode(logger, what);
    }

    public static StreamWriteDestination Stdout(ILogger logger) =>
        new("stdout", "stdout", Console.OpenStandardOutput, logger);

    public static StreamWriteDestination File(string path, ILogger logger) =>
        new("file", "file " + path,
            // bufferSize 0: every payload goes to write(2) at once, so a failed write is seen (and
            // counted) for that payload instead of lingering in a managed buffer.
            () => new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0),
            logger);

    public string Name { get; }

    public void Send(in OutgoingEnvelope envelope)
    {
        try
        {
            _stream ??= _open();
            _stream.Write(envelope.Payload.Span);
            _stream.Flush();
            _counters.Sent(envelope.Payload.Length);
            _episode.Success();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            _counters.Errors.Inc();
            _episode.Failure(e, $"write of {envelope.Payload.Length} bytes failed: {e.Message}");
            CloseQuietly();
        }
    }

    private void CloseQuietly()
    {
        try { _stream?.Dispose(); }
        catch (IOException) { /* the failed write's data is gone either way */ }
        _stream = null;
    }

    public bool Flush(TimeSpan timeout) => true;

    public void Dispose() => CloseQuietly();
}
