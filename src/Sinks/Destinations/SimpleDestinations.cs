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
/// Writes payloads verbatim to a stream: stdout, or a file. The file is opened once at start: truncated
/// (a rerun, e.g. a replay, replaces the previous output instead of doubling it) unless append was asked
/// for (--file-append). A write error (disk full, EIO) is counted and logged once per episode; the file is
/// reopened for append at the next send (never truncated again), and the daemon keeps running.
/// </summary>
public sealed class StreamWriteDestination : IDestination
{
    private readonly Func<Stream> _open;
    private readonly DestinationCounters _counters;
    private readonly ErrorEpisode _episode;
    private Stream? _stream;

    private StreamWriteDestination(string name, string what, Func<Stream> open, ILogger logger, Stream? opened = null)
    {
        Name = name;
        _open = open;
        _stream = opened;
        _counters = new DestinationCounters(name);
        _episode = new ErrorEpisode(logger, what);
    }

    public static StreamWriteDestination Stdout(ILogger logger) =>
        new("stdout", "stdout", Console.OpenStandardOutput, logger);

    /// <summary>
    /// Opens <paramref name="path"/> now: truncated to empty unless <paramref name="append"/>. Throws
    /// <see cref="InvalidOperationException"/> (one line naming the path) when it cannot be opened.
    /// </summary>
    public static StreamWriteDestination File(string path, bool append, ILogger logger)
    {
        Stream first;
        try
        {
            first = OpenFile(path, append ? FileMode.Append : FileMode.Create);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            throw new InvalidOperationException($"cannot open {path} for writing: {e.Message}", e);
        }
        return new("file", "file " + path, () => OpenFile(path, FileMode.Append), logger, first);
    }

    // bufferSize 0: every payload goes to write(2) at once, so a failed write is seen (and counted) for
    // that payload instead of lingering in a managed buffer.
    private static FileStream OpenFile(string path, FileMode mode) =>
        new(path, mode, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0);

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
