using System.Net;
using System.Net.Http.Headers;
using System.Security.Authentication;
using Microsoft.Extensions.Logging;
using XtcpEpoll.Sinks.Batching;
using XtcpEpoll.Sinks.Metrics;

namespace XtcpEpoll.Sinks.Destinations;

/// <summary>
/// http:// and https://: one POST per envelope, Content-Type from the marshaller, plus the --http-header
/// headers; TLS trust and the client certificate from <see cref="HttpsTrust"/>.
/// <para>
/// Send never waits for the network: the envelope goes into a bounded <see cref="OutageQueue"/>
/// (--http-queue-max-envelopes / --http-queue-max-bytes) and one sender thread POSTs them in order. A
/// failure that a fix on the other side cures (connection refused, TLS refused, timeout, 401/403/404,
/// 408, 429, 5xx) is counted and logged once per episode, and the envelope is retried with backoff (up to
/// ReconnectBackoffMax), so nothing is lost while the endpoint, its certificate or its credentials are
/// being fixed, up to the queue bound (beyond it the oldest are dropped, counted). A status that says the
/// payload itself is unacceptable (400, 413, 415, 422) drops that envelope (counted, logged).
/// </para>
/// </summary>
public sealed class HttpDestination : QueuedDestination
{
    private static readonly TimeSpan FirstRetryDelay = TimeSpan.FromMilliseconds(100);

    private readonly Uri _uri;
    private readonly HttpClient _client;
    private readonly HttpsTrust _trust;
    private readonly MediaTypeHeaderValue _contentType;
    private readonly IReadOnlyList<KeyValuePair<string, string>> _headers;
    private readonly TimeSpan _maxRetryDelay;
    private readonly ErrorEpisode _episode;
    private TimeSpan _retryDelay = FirstRetryDelay; // the sender thread's
    private long _delivered;
    private long _errors;
    private string? _lastError;

    public HttpDestination(Uri uri, string contentType, TimeSpan timeout, ILogger logger)
        : this(uri, contentType, new SinkOptions { HttpTimeout = timeout }, logger)
    {
    }

    /// <summary>Throws (IO, cryptographic) when --http-ca-file or the client certificate cannot be loaded.</summary>
    public HttpDestination(Uri uri, string contentType, SinkOptions options, ILogger logger)
        : base("http", new OutageQueue(options.HttpQueueMaxEnvelopes, options.HttpQueueMaxBytes, SinkMetrics.HttpDroppedEnvelopes, logger, "HTTP"),
            SinkMetrics.HttpQueueDepth, maxInFlight: 1, workerName: "xtcp-http-sender")
    {
        _uri = uri;
        _trust = HttpsTrust.Load(options.HttpCaFile, options.HttpClientCertificateFile, options.HttpClientKeyFile);
        var handler = new SocketsHttpHandler { PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30) };
        _trust.Configure(handler.SslOptions);
        _client = new HttpClient(handler) { Timeout = options.HttpTimeout };
        _contentType = MediaTypeHeaderValue.Parse(contentType);
        _headers = [.. options.HttpHeaders];
        _maxRetryDelay = options.ReconnectBackoffMax;
        _episode = new ErrorEpisode(logger, "http " + uri.GetLeftPart(UriPartial.Path));
        StartWorker();
    }

    public long Delivered => Interlocked.Read(ref _delivered);

    /// <summary>Failed attempts of this destination (each also counted in xtcp_sink_errors_total{sink="http"}).</summary>
    public long Errors => Interlocked.Read(ref _errors);

    /// <summary>The last failure, as logged (null before the first).</summary>
    public string? LastError => Volatile.Read(ref _lastError);

    /// <summary>One POST; a refusal the other side can cure backs off (doubling up to ReconnectBackoffMax) and retries.</summary>
    protected override void Work(byte[] payload)
    {
        var outcome = Post(payload);
        Complete(payload, outcome);
        if (outcome != Outcome.Retry)
        {
            _retryDelay = FirstRetryDelay;
            return;
        }
        if (WaitBeforeRetry(_retryDelay)) return;
        _retryDelay = TimeSpan.FromTicks(Math.Min(_retryDelay.Ticks * 2, _maxRetryDelay.Ticks));
    }

    private Outcome Post(byte[] payload)
    {
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, _uri) { Content = new ByteArrayContent(payload) };
            request.Content.Headers.ContentType = _contentType;
            foreach (var (name, value) in _headers) request.Headers.TryAddWithoutValidation(name, value);
            using var response = _client.Send(request, Stopping);
            if (response.IsSuccessStatusCode)
            {
                Counters.Sent(payload.Length);
                Interlocked.Increment(ref _delivered);
                _episode.Success();
                return Outcome.Delivered;
            }
            var payloadRefused = response.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.RequestEntityTooLarge
                or HttpStatusCode.UnsupportedMediaType or HttpStatusCode.UnprocessableEntity;
            Fail($"POST returned {(int)response.StatusCode} {response.ReasonPhrase}; "
                + (payloadRefused ? $"envelope of {payload.Length} bytes dropped (the endpoint refuses its content)" : "envelopes held and retried"));
            return payloadRefused ? Outcome.Dropped : Outcome.Retry;
        }
        catch (OperationCanceledException) when (Stopping.IsCancellationRequested)
        {
            return Outcome.Retry; // disposing: the envelope stays queued (and is reported undelivered)
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException or AuthenticationException)
        {
            Fail(Explain(e) + "; envelopes held and retried");
            return Outcome.Retry;
        }
    }

    /// <summary>One line: the TLS verdict when our certificate check refused the server, else the innermost cause.</summary>
    private string Explain(Exception e)
    {
        var host = _uri.IdnHost;
        if (e is TaskCanceledException) return $"POST to {host} timed out";
        var rejection = _trust.LastRejection;
        if (rejection != null && HasInner<AuthenticationException>(e)) return $"TLS with {host} failed: {rejection}";
        var inner = e;
        while (inner.InnerException != null) inner = inner.InnerException;
        if (HasInner<AuthenticationException>(e) || (_uri.Scheme == Uri.UriSchemeHttps && HasInner<IOException>(e)))
        {
            var hint = _trust.PresentsClientCertificate ? "" : " (if the server requires a client certificate, set --http-client-cert and --http-client-key)";
            return $"TLS with {host} failed: {inner.Message}{hint}";
        }
        return $"POST to {host} failed: {inner.Message}";
    }

    private static bool HasInner<T>(Exception e) where T : Exception
    {
        for (var x = e; x != null; x = x.InnerException)
            if (x is T) return true;
        return false;
    }

    /// <summary>Counted every time; logged once per episode as one line (no stack trace: the line says what to fix).</summary>
    private void Fail(string message)
    {
        Counters.Errors.Inc();
        Interlocked.Increment(ref _errors);
        Volatile.Write(ref _lastError, message);
        _episode.Failure(null, message);
    }

    protected override void DisposeTransport()
    {
        _client.Dispose();
        _trust.Dispose();
    }
}
