using Microsoft.Extensions.Logging.Abstractions;
using XtcpEpoll.Sinks.Batching;
using XtcpEpoll.Sinks.Destinations;
using XtcpEpoll.Sinks.Marshal;
using XtcpEpoll.Sinks.Metrics;
using XtcpEpoll.Sinks.Records;
using Xunit;

namespace XtcpEpoll.Tests.Sinks;

public class BatchingTests
{
    [Fact]
    public async Task Rows_cap_flushes_mid_poll_and_no_record_is_lost_with_concurrent_workers()
    {
        var destination = new CapturingDestination();
        var options = new SinkOptions { EnvelopeFlushRows = 7 };
        var batcher = new EnvelopeBatcher(options, new ProtobufListMarshaller(), destination, NullLogger.Instance);
        var rowsCapBefore = SinkMetrics.Flushes(FlushReason.RowsCap).Value;
        var records = SampleRecords.Many(300);
        var workers = new Task[3];
        for (var w = 0; w < workers.Length; w++)
        {
            var lane = w;
            workers[w] = Task.Run(() =>
            {
                for (var i = lane * 100; i < lane * 100 + 100; i += 13)
                    batcher.Append(records.AsSpan(i, Math.Min(13, lane * 100 + 100 - i)));
            });
        }
        await Task.WhenAll(workers);
        batcher.EndOfPoll(FlushReason.PollEnd);
        await batcher.ShutdownAsync(TimeSpan.FromSeconds(10));

        var envelopes = new List<XtcpEpoll.Sinks.Proto.Envelope>();
        foreach (var payload in destination.Payloads)
            envelopes.AddRange(SinkTestSupport.DecodeProtobufList(payload));
        Assert.Equal(SinkTestSupport.Range(300), SinkTestSupport.Counters(envelopes));
        Assert.All(envelopes, e => Assert.InRange(e.Row.Count, 1, 7));
        Assert.True(envelopes.Count >= 300 / 7);
        Assert.True(SinkMetrics.Flushes(FlushReason.RowsCap).Value - rowsCapBefore >= 42);
    }

    [Fact]
    public async Task Size_cap_keeps_envelopes_under_the_byte_bound_and_later_rows_go_to_the_next_envelope()
    {
        var destination = new CapturingDestination();
        var options = new SinkOptions { EnvelopeFlushBytes = 4096 };
        var records = SampleRecords.Many(200);
        await SinkTestSupport.SendThroughBatcher(options, destination, records, chunk: 200); // one poll, one Append

        var payloads = destination.Payloads;
        Assert.True(payloads.Count > 10, "expected several mid-poll size_cap flushes");
        var envelopes = new List<XtcpEpoll.Sinks.Proto.Envelope>();
        foreach (var payload in payloads)
        {
            var decoded = SinkTestSupport.DecodeProtobufList(payload);
            Assert.Single(decoded);
            Assert.True(decoded[0].CalculateSize() <= 4096, $"envelope of {decoded[0].CalculateSize()} bytes");
            envelopes.AddRange(decoded);
        }
        Assert.Equal(SinkTestSupport.Range(200), SinkTestSupport.Counters(envelopes));
        // Rows stay in append order across envelopes.
        ulong expected = 0;
        foreach (var e in envelopes)
            foreach (var r in e.Row)
                Assert.Equal(expected++, r.RecordCounter);
    }

    [Theory]
    [InlineData(786_432, 10_000)] // the defaults: the size cap ends the envelope (~2,000+ rows)
    [InlineData(1L << 30, 1_500)] // the rows cap ends it
    public void Envelope_arrays_grow_to_what_the_envelope_holds_not_to_the_next_power_of_two(long maxBytes, int maxRows)
    {
        var batch = new EnvelopeBatch(1024, maxRows, maxBytes);
        var records = SampleRecords.Many(4096);
        var i = 0;
        // Filled as EnvelopeBatcher.Append fills it: until the next row would pass the size cap or the rows cap.
        for (; i < records.Length && batch.Count < maxRows; i++)
        {
            var size = FlatRecordEncoder.ComputeSize(in records[i]);
            var rowBytes = FlatRecordEncoder.EnvelopeRowSize(size);
            if (batch.EnvelopeBytes + rowBytes > maxBytes) break;
            batch.Add(in records[i], size, rowBytes);
        }
        Assert.True(batch.Count > 1024, $"the envelope must outgrow its first allocation to test growth ({batch.Count} rows)");
        Assert.True(i < records.Length, "the caps must end the envelope, not the sample");
        Assert.InRange(batch.Capacity, batch.Count, Math.Min(maxRows, batch.Count + 64));
    }

    [Fact]
    public async Task Empty_end_of_poll_sends_nothing()
    {
        var destination = new CapturingDestination();
        var batcher = new EnvelopeBatcher(new SinkOptions(), new ProtobufListMarshaller(), destination, NullLogger.Instance);
        batcher.EndOfPoll(FlushReason.PollEnd);
        batcher.EndOfPoll(FlushReason.PollTimeout);
        batcher.Append(SampleRecords.Many(3));
        batcher.EndOfPoll(FlushReason.PollTimeout);
        batcher.EndOfPoll(FlushReason.PollEnd);
        await batcher.ShutdownAsync(TimeSpan.FromSeconds(5));
        Assert.Single(destination.Payloads);
    }

    [Fact]
    public async Task Full_envelope_pool_blocks_workers_not_end_of_poll_and_loses_nothing()
    {
        var (destination, batcher, appending) = WorkerBlockedOnTheEnvelopePool();
        // The worker is now stuck waiting for a free envelope; EndOfPoll must still return.
        var endOfPoll = Task.Run(() => batcher.EndOfPoll(FlushReason.PollEnd));
        await endOfPoll.WaitAsync(TimeSpan.FromSeconds(10)); // throws TimeoutException if EndOfPoll blocked behind the waiting worker
        Assert.False(appending.IsCompleted);
        destination.Release.Set();
        await appending.WaitAsync(TimeSpan.FromSeconds(10));
        batcher.EndOfPoll(FlushReason.PollEnd);
        await batcher.ShutdownAsync(TimeSpan.FromSeconds(10));
        var envelopes = new List<XtcpEpoll.Sinks.Proto.Envelope>();
        foreach (var p in destination.Payloads) envelopes.AddRange(SinkTestSupport.DecodeProtobufList(p));
        Assert.Equal(SinkTestSupport.Range(10), SinkTestSupport.Counters(envelopes));
    }

    [Fact]
    public async Task Shutdown_flushes_pending_rows_with_reason_shutdown()
    {
        var destination = new CapturingDestination();
        var batcher = new EnvelopeBatcher(new SinkOptions(), new JsonlMarshaller(), destination, NullLogger.Instance);
        var before = SinkMetrics.Flushes(FlushReason.Shutdown).Value;
        batcher.Append(SampleRecords.Many(4));
        await batcher.ShutdownAsync(TimeSpan.FromSeconds(5));
        Assert.Single(destination.Payloads);
        Assert.Equal(4, System.Text.Encoding.UTF8.GetString(destination.Payloads[0]).Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.True(SinkMetrics.Flushes(FlushReason.Shutdown).Value > before);
    }

    [Fact]
    public async Task Append_woken_by_shutdown_without_an_envelope_counts_every_record_it_could_not_place()
    {
        // Shutdown wakes the blocked worker with no current envelope: records 2..9 can no longer be sent
        // and every one of them must be counted (the defect dropped record 2 uncounted).
        var (destination, batcher, appending) = WorkerBlockedOnTheEnvelopePool();

        var shutdown = batcher.ShutdownAsync(TimeSpan.FromSeconds(10));
        await appending.WaitAsync(TimeSpan.FromSeconds(10)); // shutdown wakes the waiting worker
        destination.Release.Set();
        await shutdown;

        var envelopes = new List<XtcpEpoll.Sinks.Proto.Envelope>();
        foreach (var p in destination.Payloads) envelopes.AddRange(SinkTestSupport.DecodeProtobufList(p));
        Assert.Equal(new ulong[] { 0, 1 }, SinkTestSupport.Counters(envelopes));
        Assert.Equal(8, batcher.RecordsRefused); // delivered + counted = appended: none vanished
    }

    /// <summary>
    /// Ten one-row records into a pool of two envelopes behind a gated sink: record 0 is held by the sink
    /// thread, record 1 waits in the ready queue, and the worker is blocked for a free envelope at record 2.
    /// </summary>
    private static (GatedDestination, EnvelopeBatcher, Task) WorkerBlockedOnTheEnvelopePool()
    {
        var destination = new GatedDestination();
        var options = new SinkOptions { EnvelopeFlushRows = 1, SinkQueueEnvelopes = 1 };
        var batcher = new EnvelopeBatcher(options, new ProtobufListMarshaller(), destination, NullLogger.Instance);
        var records = SampleRecords.Many(10);
        var appending = Task.Run(() => batcher.Append(records));
        Assert.True(destination.Entered.Wait(TimeSpan.FromSeconds(10)), "sink thread never sent");
        Assert.True(SpinWait.SpinUntil(() => batcher.WaitingAppends == 1, TimeSpan.FromSeconds(10)), "worker never waited for an envelope");
        return (destination, batcher, appending);
    }

    private sealed class GatedDestination : IDestination
    {
        private readonly CapturingDestination _inner = new();
        public readonly ManualResetEventSlim Entered = new();
        public readonly ManualResetEventSlim Release = new();
        public string Name => "gated";
        public List<byte[]> Payloads => _inner.Payloads;

        public void Send(in OutgoingEnvelope envelope)
        {
            Entered.Set();
            Release.Wait();
            _inner.Send(envelope);
        }

        public bool Flush(TimeSpan timeout) => true;
        public void Dispose() { }
    }
}
