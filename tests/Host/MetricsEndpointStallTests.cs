using System.Diagnostics;
using System.Net;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using XtcpEpoll.Host.Metrics;
using XtcpEpoll.Tests.Loop;
using Xunit;
using Xunit.Abstractions;

namespace XtcpEpoll.Tests.Host;

/// <summary>
/// Issue 12 item 7: clients that stall cannot stall the metrics endpoint, and its deadlines close them. In
/// the quiet collection (alone in the process) because it counts the process's threads and reads the
/// endpoint's counters as deltas. The daemon-level twin (the real process, its exact thread set) is in
/// DaemonLifecycleTests.
/// </summary>
[Collection(QuietProcessCollection.Name)]
public sealed class MetricsEndpointStallTests(ITestOutputHelper output)
{
    private const int Silent = 20, Partial = 20, Unread = 10;
    /// <summary>
    /// Loopback absorbs ~2.8-3.9 MB of an unread response (the send buffer autotunes up to net.ipv4.tcp_wmem's
    /// 4 MB); a ~6.4 MB exposition is more, so the clients that never read really do stall the write.
    /// </summary>
    private const int PaddingSeries = 800, PaddingLabelChars = 8000;
    /// <summary>Longer than set-up and probes take on a loaded machine; the test waits for it once.</summary>
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);

    [Fact]
    public void Fifty_stalled_connections_do_not_delay_probes_or_add_threads_and_their_deadlines_close_them()
    {
        HostMetrics.Initialize();
        var registry = Prometheus.Metrics.NewCustomRegistry();
        var padding = Prometheus.Metrics.WithCustomRegistry(registry).CreateGauge("xtcp_test_padding", "Makes /metrics large.", "series");
        var label = new string('x', PaddingLabelChars);
        for (int i = 0; i < PaddingSeries; i++) padding.WithLabels(label + i).Set(i);
        var health = new HealthState();
        health.SetReadinessProbe(() => true);
        var limits = new MetricsEndpointLimits { RequestTimeout = Deadline, ResponseTimeout = Deadline };
        using var server = MetricsEndpoint.Start(new IPEndPoint(IPAddress.Loopback, 0), health, NullLogger.Instance, limits, registry);
        var port = server.LocalEndPoint.Port;

        // Warm-up before counting threads: the test's own first sockets, and the runtime's background-GC
        // thread, which the test process (concurrent GC, unlike the daemon) starts at its first gen-2 GC.
        Assert.Equal(200, HttpGet.Get(port, "/healthz").Status);
        GC.Collect(2, GCCollectionMode.Forced, blocking: false);
        GC.WaitForPendingFinalizers();
        var threadsBefore = ThreadIds.Of();
        var requestTimeouts = EndpointMetrics.RequestTimeouts.Value;
        var responseTimeouts = EndpointMetrics.ResponseTimeouts.Value;

        using var stalled = StalledClients.Open(port, Silent, Partial, Unread);
        // All 50 held by the endpoint, the unread ones with their responses built and stuck in the writing
        // phase (so the probes below do not queue behind rendering 10 x 6.4 MB, which is work, not a stall).
        MetricsEndpointTests.WaitUntil(() => server.OpenConnections == stalled.Count && server.RespondingConnections == Unread,
            "50 stalled connections accepted, 10 of them stuck writing");

        var clock = Stopwatch.StartNew();
        var readyz = HttpGet.Get(port, "/readyz");
        var readyzLatency = clock.Elapsed;
        clock.Restart();
        var metrics = HttpGet.Get(port, "/metrics");
        var metricsLatency = clock.Elapsed;
        var held = server.OpenConnections;
        var threadsUnderStall = ThreadIds.Of();
        var added = ThreadIds.Added(threadsBefore, threadsUnderStall);
        output.WriteLine($"under {held} stalled connections: /readyz {readyzLatency.TotalMilliseconds:F1} ms, " +
                         $"/metrics ({metrics.Body.Length:N0} bytes) {metricsLatency.TotalMilliseconds:F1} ms; " +
                         $"threads {threadsBefore.Count} before, {threadsUnderStall.Count} under the stall (new: {string.Join(",", added)})");

        Assert.Equal((200, "ready\n"), readyz);
        Assert.Equal(200, metrics.Status);
        Assert.Contains("xtcp_test_padding", metrics.Body);
        // Answered while every stalled connection was still held: not by waiting for a deadline.
        Assert.Equal(stalled.Count, held);
        Assert.Equal(requestTimeouts, EndpointMetrics.RequestTimeouts.Value);
        Assert.Equal(responseTimeouts, EndpointMetrics.ResponseTimeouts.Value);
        // No thread started for the endpoint's sake. The test host's thread pool may add a worker while this
        // test blocks one of its threads (xunit's own work queues behind it); the endpoint never queues to
        // the pool, which the daemon-level test proves on a process with no test host in it.
        Assert.DoesNotContain(added, t => !t.EndsWith(":.NET TP Worker", StringComparison.Ordinal));

        // The request deadline closes the silent and partial ones, telling them why.
        foreach (var socket in stalled.Silent.Concat(stalled.Partial))
            Assert.StartsWith("HTTP/1.1 408 ", StalledClients.ReadUntilClosed(socket));
        // The response deadline resets the ones that never read (awaited on the server's side: reading from
        // them earlier would let their responses complete).
        MetricsEndpointTests.WaitUntil(() => server.OpenConnections == 0, "every stalled connection closed");
        Assert.Equal(requestTimeouts + Silent + Partial, EndpointMetrics.RequestTimeouts.Value);
        Assert.Equal(responseTimeouts + Unread, EndpointMetrics.ResponseTimeouts.Value);
        // Each got only the part of its response that was in flight when it was reset.
        int fullLength = Encoding.UTF8.GetByteCount(metrics.Body);
        foreach (var socket in stalled.Unread)
            Assert.InRange(HttpGet.ReadToEnd(socket).Length, 1, fullLength - 1);
        Assert.Equal(200, HttpGet.Get(port, "/readyz").Status);
    }
}
