using Confluent.Kafka;
using Microsoft.Extensions.Logging.Abstractions;
using XtcpEpoll.Sinks.Batching;
using XtcpEpoll.Sinks.Destinations;
using XtcpEpoll.Sinks.Marshal;
using XtcpEpoll.Sinks.Metrics;
using XtcpEpoll.Sinks.Proto;
using XtcpEpoll.Sinks.Records;
using Xunit;

namespace XtcpEpoll.Tests.Sinks;

/// <summary>Kafka delivery against librdkafka's mock cluster, consumed back with a real consumer.</summary>
[Collection(KafkaOutageCollection.Name)]
public class KafkaDestinationTests
{
    private static SinkOptions Options(KafkaMockCluster cluster, string topic, int flushRows = 100) => new()
    {
        Dest = "kafka:" + cluster.BootstrapServers,
        Topic = topic,
        EnvelopeFlushRows = flushRows,
        KafkaProperties =
        {
            // Reconnect quickly after the outage so the test does not wait for the 10 s default backoff.
            ["reconnect.backoff.ms"] = "50",
            ["reconnect.backoff.max.ms"] = "500",
        },
    };

    private static KafkaDestination Destination(KafkaMockCluster cluster, SinkOptions options)
    {
        Assert.True(DestinationSpec.TryParse(options.Dest, out var spec, out var error), error);
        return (KafkaDestination)DestinationFactory.Create(spec, options, new ProtobufListMarshaller(), NullLogger.Instance);
    }

    private static List<Envelope> ConsumeAll(KafkaMockCluster cluster, string topic, int expected)
        => ConsumeAll(cluster.BootstrapServers, topic, expected);

    /// <summary>Reads every message of partition 0 until <paramref name="expected"/> arrived (or 30 s); <paramref name="properties"/> for a secured listener.</summary>
    internal static List<Envelope> ConsumeAll(string bootstrapServers, string topic, int expected, IEnumerable<KeyValuePair<string, string>>? properties = null)
    {
        var config = new ConsumerConfig(properties?.ToDictionary() ?? [])
        {
            BootstrapServers = bootstrapServers,
            GroupId = "xt-sinks-" + Guid.NewGuid().ToString("N"),
            EnableAutoCommit = false,
            AutoOffsetReset = AutoOffsetReset.Earliest,
        };
        using var consumer = new ConsumerBuilder<Ignore, byte[]>(config).Build();
        consumer.Assign(new TopicPartitionOffset(topic, 0, Offset.Beginning));
        var envelopes = new List<Envelope>();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (envelopes.Count < expected && DateTime.UtcNow < deadline)
        {
            var result = consumer.Consume(TimeSpan.FromMilliseconds(500));
            if (result == null || result.IsPartitionEOF) continue;
            var decoded = SinkTestSupport.DecodeProtobufList(result.Message.Value);
            Assert.Single(decoded); // one envelope per message
            envelopes.Add(decoded[0]);
        }
        // Anything beyond the expected count would be a duplicate: look once more.
        var extra = consumer.Consume(TimeSpan.FromSeconds(1));
        if (extra != null && !extra.IsPartitionEOF)
            envelopes.Add(SinkTestSupport.DecodeProtobufList(extra.Message.Value)[0]);
        return envelopes;
    }

    private static FlatRecord[] Poll(int poll, int perPoll)
    {
        var records = SampleRecords.Many(perPoll, seed: poll);
        for (var i = 0; i < records.Length; i++)
            records[i].RecordCounter = (ulong)(poll * perPoll + i);
        return records;
    }

    [Fact]
    public async Task Envelopes_of_a_poll_arrive_exactly_once()
    {
        using var cluster = new KafkaMockCluster(3);
        var topic = "xt-sinks-" + Guid.NewGuid().ToString("N")[..8];
        cluster.CreateTopic(topic, 1, 3);
        var options = Options(cluster, topic);
        var persistedBefore = SinkMetrics.KafkaDeliveries.WithLabels("persisted").Value;
        var sent = new List<XtcpFlatRecord>();
        using (var destination = Destination(cluster, options))
        {
            var batcher = new EnvelopeBatcher(options, new ProtobufListMarshaller(), destination, NullLogger.Instance);
            for (var poll = 0; poll < 3; poll++)
            {
                var records = Poll(poll, 450);
                foreach (var r in records) sent.Add(FlatRecordMapper.ToMessage(r));
                batcher.Append(records);
                batcher.EndOfPoll(FlushReason.PollEnd);
            }
            await batcher.ShutdownAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(0, destination.Depth);
            Assert.Equal(15, destination.Persisted);
        }
        Assert.True(SinkMetrics.KafkaDeliveries.WithLabels("persisted").Value - persistedBefore >= 15);
        var envelopes = ConsumeAll(cluster, topic, 15);
        Assert.Equal(15, envelopes.Count);
        Assert.Equal(SinkTestSupport.Range(1350), SinkTestSupport.Counters(envelopes));
        // Same rows, field for field, in collection order.
        Assert.Equal(sent, envelopes.SelectMany(e => e.Row).ToList());
    }

    [Fact]
    public async Task Ten_second_broker_outage_loses_and_duplicates_nothing()
    {
        using var cluster = new KafkaMockCluster(3);
        var topic = "xt-sinks-" + Guid.NewGuid().ToString("N")[..8];
        cluster.CreateTopic(topic, 1, 3);
        var options = Options(cluster, topic, flushRows: 50);
        const int perPoll = 120;
        var polls = 0;
        using (var destination = Destination(cluster, options))
        {
            var batcher = new EnvelopeBatcher(options, new ProtobufListMarshaller(), destination, NullLogger.Instance);
            void RunPoll()
            {
                batcher.Append(Poll(polls++, perPoll));
                batcher.EndOfPoll(FlushReason.PollEnd);
            }
            for (var i = 0; i < 3; i++) RunPoll();
            cluster.AllBrokersDown();
            // Collection goes on during the outage (one poll every 500 ms for 10 s); Append never blocks for long.
            var outageEnd = DateTime.UtcNow.AddSeconds(10);
            while (DateTime.UtcNow < outageEnd)
            {
                RunPoll();
                await Task.Delay(500);
            }
            Assert.True(destination.Depth > 0, "envelopes should be waiting while brokers are down");
            cluster.AllBrokersUp();
            for (var i = 0; i < 3; i++) RunPoll();
            await batcher.ShutdownAsync(TimeSpan.FromSeconds(60));
            Assert.Equal(0, destination.Depth);
            Assert.Equal(0, destination.Dropped);
        }
        var expectedEnvelopes = polls * ((perPoll + 49) / 50);
        var envelopes = ConsumeAll(cluster, topic, expectedEnvelopes);
        Assert.Equal(expectedEnvelopes, envelopes.Count);
        Assert.Equal(SinkTestSupport.Range(polls * perPoll), SinkTestSupport.Counters(envelopes));
    }

    [Fact]
    public void Bounded_queue_drops_the_oldest_envelopes_and_counts_them()
    {
        using var cluster = new KafkaMockCluster(1);
        var topic = "xt-sinks-" + Guid.NewGuid().ToString("N")[..8];
        cluster.CreateTopic(topic, 1, 1);
        cluster.AllBrokersDown();
        var options = Options(cluster, topic);
        options.KafkaQueueMaxEnvelopes = 5;
        options.KafkaMaxInFlightEnvelopes = 1;
        var droppedBefore = SinkMetrics.KafkaDroppedEnvelopes.Value;
        var marshaller = new ProtobufListMarshaller();
        using (var destination = Destination(cluster, options))
        {
            void Send(int i)
            {
                var records = Poll(i, 1);
                destination.Send(new OutgoingEnvelope(SinkTestSupport.Marshal(marshaller, records), records, default, marshaller));
            }
            Send(0);
            // Envelope 0 is handed to librdkafka (the one in-flight slot), where it waits for the brokers.
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (destination.InFlight < 1 && DateTime.UtcNow < deadline) Thread.Yield();
            Assert.Equal(1, destination.InFlight);
            for (var i = 1; i < 20; i++) Send(i);
            // Of envelopes 1..19 only the newest 5 fit the queue: 1..14 are dropped.
            Assert.Equal(14, destination.Dropped);
            Assert.Equal(6, destination.Depth);
            // The metric is process-wide (other tests' destinations may drop at the same time): ours moved it by 14 at least.
            Assert.True(SinkMetrics.KafkaDroppedEnvelopes.Value - droppedBefore >= 14);
            cluster.AllBrokersUp();
            Assert.True(destination.Flush(TimeSpan.FromSeconds(30)));
        }
        var envelopes = ConsumeAll(cluster, topic, 6);
        Assert.Equal(new ulong[] { 0, 15, 16, 17, 18, 19 }, SinkTestSupport.Counters(envelopes));
    }

    [Fact]
    public async Task Shutdown_with_brokers_down_gives_up_after_its_timeout()
    {
        using var cluster = new KafkaMockCluster(1);
        var topic = "xt-sinks-" + Guid.NewGuid().ToString("N")[..8];
        cluster.CreateTopic(topic, 1, 1);
        cluster.AllBrokersDown();
        var options = Options(cluster, topic);
        var destination = Destination(cluster, options);
        var batcher = new EnvelopeBatcher(options, new ProtobufListMarshaller(), destination, NullLogger.Instance);
        batcher.Append(Poll(0, 10));
        batcher.EndOfPoll(FlushReason.PollEnd);
        var started = DateTime.UtcNow;
        await batcher.ShutdownAsync(TimeSpan.FromSeconds(2));
        Assert.True(destination.Depth > 0, "nothing could have been delivered");
        await Task.Run(batcher.Dispose).WaitAsync(TimeSpan.FromSeconds(30)); // must not hang on undelivered messages
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(30));
    }

    [Fact]
    public void Oversized_envelope_is_rejected_and_counted_without_blocking_the_next_ones()
    {
        using var cluster = new KafkaMockCluster(1);
        var topic = "xt-sinks-" + Guid.NewGuid().ToString("N")[..8];
        cluster.CreateTopic(topic, 1, 1);
        var options = Options(cluster, topic);
        options.KafkaProperties["message.max.bytes"] = "20000";
        var failedBefore = SinkMetrics.KafkaDeliveries.WithLabels("failed").Value;
        var marshaller = new ProtobufListMarshaller();
        using (var destination = Destination(cluster, options))
        {
            var big = Poll(0, 200);     // ~100 KB: over message.max.bytes
            var small = Poll(1, 3);
            destination.Send(new OutgoingEnvelope(SinkTestSupport.Marshal(marshaller, big), big, default, marshaller));
            destination.Send(new OutgoingEnvelope(SinkTestSupport.Marshal(marshaller, small), small, default, marshaller));
            Assert.True(destination.Flush(TimeSpan.FromSeconds(30)));
            Assert.Equal(1, destination.Persisted);
        }
        // Process-wide metric (other tests' producers report too): ours moved it by at least its one rejected envelope.
        Assert.True(SinkMetrics.KafkaDeliveries.WithLabels("failed").Value - failedBefore >= 1);
        var envelopes = ConsumeAll(cluster, topic, 1);
        Assert.Equal(new ulong[] { 3, 4, 5 }, SinkTestSupport.Counters(envelopes));
    }
}
