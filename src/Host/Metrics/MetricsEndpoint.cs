using System.Net;
using System.Text;
using Microsoft.Extensions.Logging;
using XtcpEpoll.Host.Native;
using XtcpEpoll.Netlink.Native;

namespace XtcpEpoll.Host.Metrics;

/// <summary>
/// /metrics, /healthz and /readyz on ONE dedicated thread with a blocking accept loop over raw fds.
/// HttpListener and Kestrel bring thread-pool I/O and timers, and even one System.Net.Sockets.Socket
/// starts .NET's socket engine thread; a scrape every few seconds needs none of that, and the daemon's
/// OS-thread budget is small and must not grow. Each connection is served synchronously with short
/// socket timeouts (a stuck client cannot hold the thread for long) and closed after one response.
/// </summary>
public sealed class MetricsEndpoint : IDisposable
{
    private const int MaxRequestBytes = 8192;
    private static readonly TimeSpan ClientTimeout = TimeSpan.FromSeconds(2);

    private readonly RawTcpListener _listener;
    private readonly HealthState _health;
    private readonly ILogger _logger;
    private readonly Thread _thread;
    private readonly byte[] _request = new byte[MaxRequestBytes];
    private readonly MemoryStream _body = new();

    private MetricsEndpoint(RawTcpListener listener, HealthState health, ILogger logger)
    {
        _listener = listener;
        _health = health;
        _logger = logger;
        _thread = new Thread(AcceptLoop) { IsBackground = true, Name = "xtcp-metrics" };
    }

    /// <summary>The bound address (port resolved when 0 was asked for).</summary>
    public IPEndPoint LocalEndPoint => _listener.LocalEndPoint;

    /// <summary>Binds and starts serving. Throws IOException naming the address when it cannot be bound.</summary>
    public static MetricsEndpoint Start(IPEndPoint endpoint, HealthState health, ILogger logger)
    {
        var server = new MetricsEndpoint(RawTcpListener.Listen(endpoint, backlog: 16), health, logger);
        server._thread.Start();
        return server;
    }

    private void AcceptLoop()
    {
        while (true)
        {
            OwnedFd? client;
            try
            {
                client = _listener.Accept();
            }
            catch (IOException e)
            {
                _logger.LogWarning("metrics listener: {Error}", e.Message);
                continue;
            }
            if (client == null) return; // stopped
            try
            {
                RawTcpListener.SetTimeouts(client, ClientTimeout);
                Serve(client);
            }
            catch (IOException e)
            {
                _logger.LogDebug("metrics client dropped: {Error}", e.Message);
            }
            finally
            {
                RawTcpListener.Close(client);
            }
        }
    }

    private void Serve(OwnedFd client)
    {
        var path = ReadRequestPath(client);
        if (path == null)
        {
            Respond(client, 400, "text/plain; charset=utf-8", "bad request\n"u8);
            return;
        }
        var query = path.IndexOf('?');
        if (query >= 0) path = path[..query];
        switch (path)
        {
            case "/metrics":
                _body.SetLength(0);
                Prometheus.Metrics.DefaultRegistry.CollectAndExportAsTextAsync(_body).GetAwaiter().GetResult();
                Respond(client, 200, "text/plain; version=0.0.4; charset=utf-8", _body.GetBuffer().AsSpan(0, (int)_body.Length));
                break;
            case "/healthz":
                Respond(client, 200, "text/plain; charset=utf-8", "ok\n"u8);
                break;
            case "/readyz":
                if (_health.IsReady) Respond(client, 200, "text/plain; charset=utf-8", "ready\n"u8);
                else Respond(client, 503, "text/plain; charset=utf-8", "not ready\n"u8);
                break;
            default:
                Respond(client, 404, "text/plain; charset=utf-8", "not found: try /metrics, /healthz, /readyz\n"u8);
                break;
        }
    }

    /// <summary>Reads the request head; returns the path of a GET/HEAD request line, else null.</summary>
    private string? ReadRequestPath(OwnedFd client)
    {
        var filled = 0;
        while (filled < _request.Length)
        {
            var n = RawTcpListener.Receive(client, _request.AsSpan(filled));
            if (n == 0) break;
            filled += n;
            if (_request.AsSpan(0, filled).IndexOf("\r\n\r\n"u8) >= 0) break;
        }
        var head = _request.AsSpan(0, filled);
        var lineEnd = head.IndexOf("\r\n"u8);
        if (lineEnd < 0) return null;
        var parts = Encoding.ASCII.GetString(head[..lineEnd]).Split(' ');
        if (parts.Length != 3 || parts[0] is not ("GET" or "HEAD") || !parts[1].StartsWith('/')) return null;
        return parts[1];
    }

    private static void Respond(OwnedFd client, int status, string contentType, ReadOnlySpan<byte> body)
    {
        var reason = status switch { 200 => "OK", 400 => "Bad Request", 404 => "Not Found", _ => "Service Unavailable" };
        var head = $"HTTP/1.1 {status} {reason}\r\nContent-Type: {contentType}\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n";
        RawTcpListener.SendAll(client, Encoding.ASCII.GetBytes(head));
        RawTcpListener.SendAll(client, body);
    }

    public void Dispose()
    {
        _listener.Stop();
        _thread.Join(TimeSpan.FromSeconds(5));
        _listener.Dispose();
    }
}
