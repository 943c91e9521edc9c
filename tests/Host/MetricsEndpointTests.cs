using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using XtcpEpoll.Host.Metrics;
using Xunit;

namespace XtcpEpoll.Tests.Host;

public class MetricsEndpointTests
{
    [Fact]
    public void Serves_metrics_health_and_readiness_on_one_thread()
    {
        HostMetrics.Initialize();
        var health = new HealthState();
        var ready = false;
        health.SetReadinessProbe(() => ready);
        using var server = MetricsEndpoint.Start(new IPEndPoint(IPAddress.Loopback, 0), health, NullLogger.Instance);
        var port = server.LocalEndPoint.Port;

        Assert.Equal((200, "ok\n"), HttpGet.Get(port, "/healthz"));
        Assert.Equal(503, HttpGet.Get(port, "/readyz").Status);
        ready = true;
        Assert.Equal(200, HttpGet.Get(port, "/readyz").Status);
        Assert.Equal(404, HttpGet.Get(port, "/nope").Status);

        var (status, body) = HttpGet.Get(port, "/metrics");
        Assert.Equal(200, status);
        Assert.True(HttpGet.Metric(body, "xtcp_os_threads") > 0);
        Assert.True(HttpGet.Metric(body, "xtcp_open_fds") > 0);
        Assert.True(HttpGet.Metric(body, "xtcp_resident_memory_bytes") > 1_000_000);
    }

    [Fact]
    public void Bad_request_line_gets_400_and_the_server_keeps_serving()
    {
        using var server = MetricsEndpoint.Start(new IPEndPoint(IPAddress.Loopback, 0), new HealthState(), NullLogger.Instance);
        var port = server.LocalEndPoint.Port;
        using (var raw = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp))
        {
            raw.Connect(IPAddress.Loopback, port);
            raw.Send("GARBAGE\r\n\r\n"u8.ToArray());
            var buffer = new byte[256];
            var n = raw.Receive(buffer);
            Assert.StartsWith("HTTP/1.1 400", System.Text.Encoding.ASCII.GetString(buffer, 0, n));
        }
        Assert.Equal(200, HttpGet.Get(port, "/healthz").Status);
    }

    [Theory]
    [InlineData("/healthz", 200)]
    [InlineData("/readyz", 503)]
    [InlineData("/nope", 404)]
    [InlineData("/metrics", 200)]
    public void Head_gets_the_headers_get_would_send_and_no_body(string path, int status)
    {
        HostMetrics.Initialize();
        using var server = MetricsEndpoint.Start(new IPEndPoint(IPAddress.Loopback, 0), new HealthState(), NullLogger.Instance);
        var port = server.LocalEndPoint.Port;

        var head = HttpGet.Exchange(port, $"HEAD {path} HTTP/1.1\r\nHost: localhost\r\n\r\n");
        var get = HttpGet.Exchange(port, $"GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n");

        Assert.StartsWith($"HTTP/1.1 {status} ", head);
        int headEnd = head.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        Assert.True(headEnd > 0, head);
        Assert.Equal(headEnd + 4, head.Length); // nothing after the blank line
        var length = int.Parse(Header(head, "Content-Length"));
        var getBody = get[(get.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..];
        Assert.True(length > 0);
        if (path != "/metrics") Assert.Equal(System.Text.Encoding.UTF8.GetByteCount(getBody), length); // /metrics moves between two scrapes
        Assert.Equal(Header(get, "Content-Type"), Header(head, "Content-Type"));
    }

    [Fact]
    public void Other_methods_get_405_naming_the_allowed_ones()
    {
        using var server = MetricsEndpoint.Start(new IPEndPoint(IPAddress.Loopback, 0), new HealthState(), NullLogger.Instance);
        var response = HttpGet.Exchange(server.LocalEndPoint.Port, "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 405 ", response);
        Assert.Equal("GET, HEAD", Header(response, "Allow"));
    }

    [Fact]
    public void A_request_head_beyond_the_limit_gets_431()
    {
        var before = EndpointMetrics.Responses.WithLabels("431").Value;
        using var server = MetricsEndpoint.Start(new IPEndPoint(IPAddress.Loopback, 0), new HealthState(), NullLogger.Instance);
        var huge = "GET /metrics HTTP/1.1\r\nX-Padding: " + new string('a', MetricsEndpointLimits.Default.MaxRequestHeadBytes) + "\r\n\r\n";
        Assert.StartsWith("HTTP/1.1 431 ", HttpGet.Exchange(server.LocalEndPoint.Port, huge));
        Assert.True(EndpointMetrics.Responses.WithLabels("431").Value > before);
        Assert.Equal(200, HttpGet.Get(server.LocalEndPoint.Port, "/healthz").Status);
    }

    [Fact]
    public void Connections_beyond_the_cap_are_closed_at_once_and_counted()
    {
        var limits = new MetricsEndpointLimits { MaxConnections = 4 };
        using var server = MetricsEndpoint.Start(new IPEndPoint(IPAddress.Loopback, 0), new HealthState(), NullLogger.Instance,
            limits, Prometheus.Metrics.DefaultRegistry);
        var port = server.LocalEndPoint.Port;
        var held = new List<Socket>();
        try
        {
            for (int i = 0; i < limits.MaxConnections; i++) held.Add(Connect(port));
            WaitUntil(() => server.OpenConnections == limits.MaxConnections, "the held connections accepted");
            var refusedBefore = EndpointMetrics.ConnectionsRefused.Value;

            using (var refused = Connect(port))
            {
                // Closed by the server at once and without a response; left to the request deadline (5 s,
                // within the 10 s receive timeout) it would have been answered "408".
                Assert.Empty(HttpGet.ReadToEnd(refused));
            }
            Assert.True(EndpointMetrics.ConnectionsRefused.Value > refusedBefore);
            Assert.Equal(limits.MaxConnections, server.OpenConnections);
        }
        finally
        {
            foreach (var socket in held) socket.Dispose();
        }
        // The clients' FINs free the slots (no request deadline needed).
        WaitUntil(() => server.OpenConnections == 0, "the closed connections released");
        Assert.Equal(200, HttpGet.Get(port, "/healthz").Status);
    }

    [Fact]
    public void A_throwing_readiness_probe_is_a_500_and_the_endpoint_keeps_serving()
    {
        var health = new HealthState();
        health.SetReadinessProbe(() => throw new InvalidOperationException("probe bug"));
        using var server = MetricsEndpoint.Start(new IPEndPoint(IPAddress.Loopback, 0), health, NullLogger.Instance);
        Assert.Equal(500, HttpGet.Get(server.LocalEndPoint.Port, "/readyz").Status);
        Assert.Equal(200, HttpGet.Get(server.LocalEndPoint.Port, "/healthz").Status);
    }

    [Fact]
    public void A_taken_port_is_an_io_error_naming_the_address()
    {
        using var first = MetricsEndpoint.Start(new IPEndPoint(IPAddress.Loopback, 0), new HealthState(), NullLogger.Instance);
        var taken = first.LocalEndPoint;
        var error = Assert.Throws<IOException>(() => MetricsEndpoint.Start(taken, new HealthState(), NullLogger.Instance));
        Assert.Contains(taken.ToString(), error.Message);
    }

    [Fact]
    public void All_interfaces_listener_serves_ipv4_clients_too()
    {
        using var server = MetricsEndpoint.Start(new IPEndPoint(IPAddress.IPv6Any, 0), new HealthState(), NullLogger.Instance);
        Assert.Equal(200, HttpGet.Get(server.LocalEndPoint.Port, "/healthz").Status);
    }

    [Fact]
    public void Dispose_stops_the_listener()
    {
        var server = MetricsEndpoint.Start(new IPEndPoint(IPAddress.Loopback, 0), new HealthState(), NullLogger.Instance);
        var port = server.LocalEndPoint.Port;
        server.Dispose();
        Assert.ThrowsAny<System.Net.Sockets.SocketException>(() => HttpGet.Get(port, "/healthz"));
    }

    private static Socket Connect(int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveTimeout = 10_000 };
        socket.Connect(IPAddress.Loopback, port);
        return socket;
    }

    private static string Header(string response, string name)
    {
        foreach (var line in response[..response.IndexOf("\r\n\r\n", StringComparison.Ordinal)].Split("\r\n"))
        {
            if (line.StartsWith(name + ": ", StringComparison.OrdinalIgnoreCase)) return line[(name.Length + 2)..];
        }
        throw new Xunit.Sdk.XunitException($"no {name} header in: {response}");
    }

    /// <summary>Polls a condition the endpoint reaches on its own thread (bounded, so a bug fails instead of hanging).</summary>
    internal static void WaitUntil(Func<bool> condition, string what, int seconds = 30)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(seconds)) throw new TimeoutException($"not reached within {seconds} s: {what}");
            Thread.Sleep(10);
        }
    }
}
