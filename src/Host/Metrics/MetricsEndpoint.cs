using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;
using Prometheus;

namespace XtcpEpoll.Host.Metrics;

/// <summary>
/// /metrics, /healthz and /readyz on ONE dedicated thread with a blocking accept loop. HttpListener and
/// Kestrel would bring thread-pool I/O and timers; a scrape every few seconds needs none of that, and the
/// daemon's OS-thread budget is small and must not grow. Each connection is served synchronously with
/// short socket timeouts (a stuck client cannot hold the thread for long) and closed after one response.
/// </summary>
public sealed class MetricsEndpoint : IDisposable
{
    private const int MaxRequestBytes = 8192;
    private static readonly TimeSpan ClientTimeout = TimeSpan.FromSeconds(2);

    private readonly Socket _listener;
    private readonly HealthState _health;
    private readonly ILogger _logger;
    private readonly Thread _thread;
    private volatile bool _stopping;

    private MetricsEndpoint(Socket listener, HealthState health, ILogger logger)
    {
        _listener = listener;
        _health = health;
        _logger = logger;
        _thread = new Thread(AcceptLoop) { IsBackground = true, Name = "xtcp-metrics" };
    }

    /// <summary>The bound address (port resolved when 0 was asked for).</summary>
    public IPEndPoint LocalEndPoint => (IPEndPoint)_listener.LocalEndPoint!;

    /// <summary>Binds and starts serving. Throws SocketException when the address cannot be bound.</summary>
    public static MetricsEndpoint Start(IPEndPoint endpoint, HealthState health, ILogger logger)
    {
        var listener = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (endpoint.AddressFamily == AddressFamily.InterNetworkV6) listener.DualMode = true;
            listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            listener.Bind(endpoint);
            listener.Listen(16);
        }
        catch
        {
            listener.Dispose();
            throw;
        }
        var server = new MetricsEndpoint(listener, health, logger);
        server._thread.Start();
        return server;
    }

    private void AcceptLoop()
    {
        while (!_stopping)
        {
            Socket client;
            try
            {
                client = _listener.Accept();
            }
            catch (Exception) when (_stopping)
            {
                return;
            }
            catch (SocketException e)
            {
                _logger.LogWarning("metrics listener accept failed: {Error}", e.SocketErrorCode);
                continue;
            }
            using (client)
            {
                try
                {
                    Serve(client);
                }
                catch (Exception e) when (e is SocketException or IOException or ObjectDisposedException)
                {
                    _logger.LogDebug("metrics client dropped: {Error}", e.Message);
                }
            }
        }
    }

    private void Serve(Socket client)
    {
        client.ReceiveTimeout = (int)ClientTimeout.TotalMilliseconds;
        client.SendTimeout = (int)ClientTimeout.TotalMilliseconds;
        var path = ReadRequestPath(client);
        if (path == null)
        {
            Respond(client, 400, "text/plain; charset=utf-8", "bad request\n"u8.ToArray());
            return;
        }
        var query = path.IndexOf('?');
        if (query >= 0) path = path[..query];
        switch (path)
        {
            case "/metrics":
                using (var body = new MemoryStream())
                {
                    Prometheus.Metrics.DefaultRegistry.CollectAndExportAsTextAsync(body).GetAwaiter().GetResult();
                    Respond(client, 200, "text/plain; version=0.0.4; charset=utf-8", body.GetBuffer().AsSpan(0, (int)body.Length));
                }
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
    private static string? ReadRequestPath(Socket client)
    {
        var buffer = new byte[MaxRequestBytes];
        var filled = 0;
        while (filled < buffer.Length)
        {
            var n = client.Receive(buffer, filled, buffer.Length - filled, SocketFlags.None);
            if (n == 0) break;
            filled += n;
            if (buffer.AsSpan(0, filled).IndexOf("\r\n\r\n"u8) >= 0) break;
        }
        var head = buffer.AsSpan(0, filled);
        var lineEnd = head.IndexOf("\r\n"u8);
        if (lineEnd < 0) return null;
        var parts = Encoding.ASCII.GetString(head[..lineEnd]).Split(' ');
        if (parts.Length != 3 || parts[0] is not ("GET" or "HEAD") || !parts[1].StartsWith('/')) return null;
        return parts[1];
    }

    private static void Respond(Socket client, int status, string contentType, ReadOnlySpan<byte> body)
    {
        var reason = status switch { 200 => "OK", 400 => "Bad Request", 404 => "Not Found", _ => "Service Unavailable" };
        var head = $"HTTP/1.1 {status} {reason}\r\nContent-Type: {contentType}\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n";
        client.Send(Encoding.ASCII.GetBytes(head));
        while (body.Length > 0)
        {
            var sent = client.Send(body);
            body = body[sent..];
        }
        client.Shutdown(SocketShutdown.Send);
    }

    public void Dispose()
    {
        _stopping = true;
        // Closing the listener unblocks Accept() with an exception the loop treats as the stop signal.
        try { _listener.Shutdown(SocketShutdown.Both); } catch (SocketException) { }
        _listener.Dispose();
        _thread.Join(TimeSpan.FromSeconds(3));
    }
}
