using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using XtcpEpoll.Host.Metrics;
using XtcpEpoll.Loop;
using XtcpEpoll.Sinks.Batching;
using XtcpEpoll.Sinks.Records;
using Xunit;

namespace XtcpEpoll.Tests.Host;

/// <summary>/readyz is 503 until the collector's first complete poll, then 200 (wired as the Host wires it).</summary>
public class ReadinessTests
{
    private sealed class CountingSink : IRecordSink
    {
        public long Records;
        public void Append(ReadOnlySpan<FlatRecord> records) => Interlocked.Add(ref Records, records.Length);
        public void EndOfPoll(FlushReason reason) { }
        public Task ShutdownAsync(TimeSpan timeout) => Task.CompletedTask;
    }

    [Fact]
    public async Task Readyz_goes_from_503_to_200_after_the_first_poll()
    {
        using var namespaces = new TestNamespaces("host-ready");
        var sink = new CountingSink();
        var options = new CollectorOptions
        {
            Frequency = TimeSpan.FromSeconds(1),
            Timeout = TimeSpan.FromMilliseconds(500),
            NetnsDirs = [namespaces.Directory.FullName],
            Hostname = "ready-test",
        };
        using var collector = new Collector(options, sink, NullLogger.Instance);
        var health = new HealthState();
        health.SetReadinessProbe(() => collector.FirstPollCompleted);
        using var server = MetricsEndpoint.Start(new IPEndPoint(IPAddress.Loopback, 0), health, NullLogger.Instance);
        var port = server.LocalEndPoint.Port;

        Assert.Equal(503, HttpGet.Get(port, "/readyz").Status);
        var firstPoll = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        collector.PollCompleted += _ => firstPoll.TrySetResult();
        collector.Start();
        await firstPoll.Task.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(200, HttpGet.Get(port, "/readyz").Status);
        Assert.True(Interlocked.Read(ref sink.Records) > 0, "the host namespace has sockets (at least the metrics listener)");
        collector.RequestStop();
        await collector.Completion.WaitAsync(TimeSpan.FromSeconds(10));
    }
}
