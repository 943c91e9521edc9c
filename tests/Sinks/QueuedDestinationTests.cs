using System.Collections.Concurrent;
using Microsoft.Extensions.Logging.Abstractions;
using Prometheus;
using Xunit;
using XtcpEpoll.Sinks.Destinations;

namespace XtcpEpoll.Tests.Sinks;

/// <summary>
/// The rules HTTP and Kafka share through <see cref="QueuedDestination"/>, with a transport the test drives:
/// the in-flight cap, a retry going back to the front (order kept), Flush's verdict and Dispose stopping the
/// worker. No network and no root; HttpDestination/KafkaDestination tests prove the same rules end to end.
/// </summary>
public sealed class QueuedDestinationTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    /// <summary>Hands every envelope the worker takes to the test, which completes it.</summary>
    private sealed class DrivenDestination : QueuedDestination
    {
        private static readonly IMetricFactory Metrics = Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry());

        public DrivenDestination(int maxInFlight, int maxEnvelopes = 100)
            : base("test", new OutageQueue(maxEnvelopes, long.MaxValue, Metrics.CreateCounter("dropped_" + Guid.NewGuid().ToString("N"), "d"), NullLogger.Instance, "test"),
                Metrics.CreateGauge("depth_" + Guid.NewGuid().ToString("N"), "d"), maxInFlight, "xt-test-queued")
        {
            StartWorker();
        }

        public BlockingCollection<byte[]> Taken { get; } = [];
        public bool TransportDisposed { get; private set; }

        protected override void Work(byte[] payload) => Taken.Add(payload);

        public void Deliver(byte[] payload) => Complete(payload, Outcome.Delivered);
        public void Retry(byte[] payload) => Complete(payload, Outcome.Retry);
        public void Drop(byte[] payload) => Complete(payload, Outcome.Dropped);

        public byte[] NextTaken()
        {
            Assert.True(Taken.TryTake(out var payload, Wait), "the worker took nothing");
            return payload!;
        }

        protected override void DisposeTransport() => TransportDisposed = true;
    }

    private static void Send(DrivenDestination destination, byte value) =>
        destination.Send(new OutgoingEnvelope(new byte[] { value }, default, default, null!));

    [Fact]
    public void The_worker_takes_no_more_than_the_in_flight_cap_and_a_completion_frees_a_slot()
    {
        using var destination = new DrivenDestination(maxInFlight: 2);
        for (byte i = 1; i <= 4; i++) Send(destination, i);

        var first = destination.NextTaken();
        var second = destination.NextTaken();
        Assert.Equal([1, 2], new[] { first[0], second[0] });
        Assert.False(destination.Taken.TryTake(out _, TimeSpan.FromMilliseconds(200)), "a third envelope went out beyond the cap");
        Assert.Equal(2, destination.InFlight);
        Assert.Equal(4, destination.Depth);

        destination.Deliver(first);
        Assert.Equal(3, destination.NextTaken()[0]);
        Assert.Equal(3, destination.Depth);
    }

    [Fact]
    public void A_retried_envelope_goes_out_again_before_the_ones_queued_behind_it()
    {
        using var destination = new DrivenDestination(maxInFlight: 1);
        for (byte i = 1; i <= 3; i++) Send(destination, i);

        var first = destination.NextTaken();
        destination.Retry(first);
        var again = destination.NextTaken();
        Assert.Same(first, again);
        destination.Drop(again);
        Assert.Equal(2, destination.NextTaken()[0]);
    }

    [Fact]
    public async Task Flush_is_true_once_everything_completed_and_false_at_its_deadline_while_one_is_out()
    {
        using var destination = new DrivenDestination(maxInFlight: 1);
        Send(destination, 1);
        var taken = destination.NextTaken();
        Assert.False(destination.Flush(TimeSpan.FromMilliseconds(100)));

        var flushed = Task.Run(() => destination.Flush(Wait));
        destination.Deliver(taken);
        Assert.True(await flushed.WaitAsync(Wait));
        Assert.Equal(0, destination.Depth);
    }

    [Fact]
    public async Task Dispose_stops_the_worker_before_the_transport_goes_and_leaves_queued_envelopes_undelivered()
    {
        var destination = new DrivenDestination(maxInFlight: 1);
        Send(destination, 1);
        Send(destination, 2);
        destination.NextTaken();

        await Task.Run(destination.Dispose).WaitAsync(Wait); // throws TimeoutException if the worker never stopped
        Assert.True(destination.TransportDisposed);
        Assert.Empty(destination.Taken);
        Assert.Equal(2, destination.Depth);
    }

    [Fact]
    public void Beyond_the_queue_bound_the_oldest_queued_envelopes_are_dropped_and_counted()
    {
        using var destination = new DrivenDestination(maxInFlight: 1, maxEnvelopes: 2);
        Send(destination, 1);
        var first = destination.NextTaken();
        for (byte i = 2; i <= 5; i++) Send(destination, i);

        Assert.Equal(2, destination.Dropped);
        destination.Deliver(first);
        Assert.Equal(4, destination.NextTaken()[0]);
    }
}
