using Microsoft.Extensions.Logging;

namespace XtcpEpoll.Sinks.Destinations;

/// <summary>
/// Logs a failing destination once per episode (first failure, then recovery) instead of once per
/// send, so an outage does not flood the log; the per-send count lives in the error metric.
/// Thread-safe.
/// </summary>
public sealed class ErrorEpisode(ILogger logger, string what)
{
    private int _failing;
    private long _failuresInEpisode;

    public bool Failing => Volatile.Read(ref _failing) != 0;

    public void Failure(Exception? exception, string message)
    {
        Interlocked.Increment(ref _failuresInEpisode);
        if (Interlocked.Exchange(ref _failing, 1) == 0)
            logger.LogError(exception, "{What}: {Message} (further errors counted, not logged, until it recovers)", what, message);
    }

    public void Success()
    {
        if (Volatile.Read(ref _failing) == 0) return;
        if (Interlocked.Exchange(ref _failing, 0) == 1)
            logger.LogWarning("{What}: recovered after {Failures} failed attempts", what, Interlocked.Exchange(ref _failuresInEpisode, 0));
    }
}
