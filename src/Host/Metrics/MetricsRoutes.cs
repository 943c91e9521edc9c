using Microsoft.Extensions.Logging;
using Prometheus;
using XtcpEpoll.Host.Metrics.Http;

namespace XtcpEpoll.Host.Metrics;

/// <summary>
/// What the endpoint answers: /metrics (Prometheus text), /healthz (alive), /readyz (first poll done and sink
/// healthy). Runs on the endpoint's loop thread; /metrics renders into one reused stream.
/// </summary>
internal sealed class MetricsRoutes(HealthState health, CollectorRegistry registry, ILogger logger)
{
    private static ReadOnlySpan<byte> PlainText => "text/plain; charset=utf-8"u8;
    private static ReadOnlySpan<byte> Exposition => "text/plain; version=0.0.4; charset=utf-8"u8;

    private readonly MemoryStream _exposition = new();

    public HttpResponse Respond(RequestVerdict verdict, ReadOnlySpan<byte> path)
    {
        try
        {
            return Route(verdict, path);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A collector callback or readiness probe that throws must not take the endpoint (and /healthz)
            // down with it.
            logger.LogWarning("answering {Path} failed: {Error}", System.Text.Encoding.ASCII.GetString(path), e.Message);
            return HttpResponse.Create(500, PlainText, "internal error, see the daemon's log\n"u8, withBody: true);
        }
    }

    private HttpResponse Route(RequestVerdict verdict, ReadOnlySpan<byte> path)
    {
        bool withBody = verdict != RequestVerdict.Head;
        switch (verdict)
        {
            case RequestVerdict.Malformed:
                return HttpResponse.Create(400, PlainText, "bad request\n"u8, withBody: true);
            case RequestVerdict.OtherMethod:
                return HttpResponse.Create(405, PlainText, "method not allowed: use GET or HEAD\n"u8, withBody: true);
        }
        if (path.SequenceEqual("/metrics"u8)) return Metrics(withBody);
        if (path.SequenceEqual("/healthz"u8)) return HttpResponse.Create(200, PlainText, "ok\n"u8, withBody);
        if (path.SequenceEqual("/readyz"u8))
        {
            return health.IsReady
                ? HttpResponse.Create(200, PlainText, "ready\n"u8, withBody)
                : HttpResponse.Create(503, PlainText, "not ready\n"u8, withBody);
        }
        return HttpResponse.Create(404, PlainText, "not found: try /metrics, /healthz, /readyz\n"u8, withBody);
    }

    /// <summary>"408 Request Timeout", sent (if the socket takes it) to a client whose request head never completed.</summary>
    public static HttpResponse RequestTimeout() =>
        HttpResponse.Create(408, PlainText, "request timeout: send the whole request head at once\n"u8, withBody: true);

    /// <summary>"431": the request head did not fit <see cref="MetricsEndpointLimits.MaxRequestHeadBytes"/>.</summary>
    public static HttpResponse HeadTooLarge() =>
        HttpResponse.Create(431, PlainText, "request head too large\n"u8, withBody: true);

    private HttpResponse Metrics(bool withBody)
    {
        _exposition.SetLength(0);
        // The stream is in memory: every write completes synchronously, so this never waits on the pool
        // (the daemon-level stall test sees no thread-pool thread appear).
        registry.CollectAndExportAsTextAsync(_exposition).GetAwaiter().GetResult();
        var body = _exposition.GetBuffer().AsSpan(0, (int)_exposition.Length);
        return HttpResponse.Create(200, Exposition, body, withBody);
    }
}
