using System.Net;
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
}
