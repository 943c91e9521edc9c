using System.Net.Http.Headers;
using Microsoft.Extensions.Logging;
using XtcpEpoll.Sinks.Metrics;

namespace XtcpEpoll.Sinks.Destinations;

/// <summary>
/// http:// and https://: one POST per flush, Content-Type from the marshaller. A non-2xx status,
/// a transport error or a timeout is counted as an error (payload dropped, logged once per episode).
/// Runs synchronously on the sink thread (HttpClient.Send), never on the epoll loop.
/// </summary>
public sealed class HttpDestination : IDestination
{
    private readonly Uri _uri;
    private readonly HttpClient _client;
    private readonly MediaTypeHeaderValue _contentType;
    private readonly DestinationCounters _counters = new("http");
    private readonly ErrorEpisode _episode;

    public HttpDestination(Uri uri, string contentType, TimeSpan timeout, ILogger logger)
    {
        _uri = uri;
        _client = new HttpClient(new SocketsHttpHandler { PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30) }) { Timeout = timeout };
        _contentType = MediaTypeHeaderValue.Parse(contentType);
        _episode = new ErrorEpisode(logger, "http " + uri);
    }

    public string Name => "http";

    public void Send(in OutgoingEnvelope envelope)
    {
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, _uri) { Content = new ReadOnlyMemoryContent(envelope.Payload) };
            request.Content.Headers.ContentType = _contentType;
            using var response = _client.Send(request);
            if (!response.IsSuccessStatusCode)
            {
                _counters.Errors.Inc();
                _episode.Failure(null, $"POST returned {(int)response.StatusCode} {response.ReasonPhrase}");
                return;
            }
            _counters.Sent(envelope.Payload.Length);
            _episode.Success();
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
        {
            _counters.Errors.Inc();
            _episode.Failure(e, $"POST failed: {e.Message}");
        }
    }

    public bool Flush(TimeSpan timeout) => true;

    public void Dispose() => _client.Dispose();
}
