using Microsoft.Extensions.Logging.Abstractions;
using XtcpEpoll.Loop.Parsing;
using XtcpEpoll.Netlink.Parsing;
using XtcpEpoll.Sinks.Batching;
using XtcpEpoll.Sinks.Records;
using XtcpEpoll.Tests.Netlink;
using Xunit;
using static XtcpEpoll.Tests.Loop.Dumps.DumpWire;

namespace XtcpEpoll.Tests.Loop;

/// <summary>The one datagram → records step shared by the parse workers and `replay`, on synthetic datagrams.</summary>
public sealed class DumpDecoderTests
{
    private static readonly RecordContext Context = new() { Hostname = "h", Netns = "ns", NetnsInode = 1, TimestampNs = 1 };

    [Fact]
    public void A_cookie_is_emitted_once_per_dump_and_records_are_numbered_in_order()
    {
        var (decoder, sink) = New();
        var dump = new DumpRecords();

        Assert.Equal(new DecodedDatagram(2, DatagramEnding.None, 0), decoder.Decode(Sockets(1, 10, 11), dump, Context));
        Assert.Equal(new DecodedDatagram(1, DatagramEnding.Done, 0), decoder.Decode(SocketsThenDone(1, 11, 12), dump, Context));

        Assert.Equal([10UL, 11UL, 12UL], sink.Records.Select(r => r.Socket.Cookie));
        Assert.Equal([0UL, 1UL, 2UL], sink.Records.Select(r => r.RecordCounter));
        Assert.All(sink.Records, r => Assert.Same(Context, r.Context));
        Assert.All(sink.Records, r => Assert.Equal((3UL, RecordOrigins.PollSnapshot, RecordReasons.Snapshot), (r.NetlinkerId, r.RecordOrigin, r.RecordReason)));

        dump.Reset(); // the next dump
        decoder.Decode(Sockets(2, 10), dump, Context);
        Assert.Equal((10UL, 0UL), (sink.Records[^1].Socket.Cookie, sink.Records[^1].RecordCounter));
    }

    [Fact]
    public void Under_emit_changed_a_repeated_socket_is_not_appended_and_the_numbering_has_no_gap()
    {
        var (decoder, sink) = New();
        var table = new XtcpEpoll.Loop.Changes.FingerprintTable(new XtcpEpoll.Loop.Changes.KeyframeSchedule(1000));
        var dump = new DumpRecords();
        for (uint poll = 1; poll <= 2; poll++)
        {
            dump.Reset();
            dump.Changes = table;
            table.BeginPoll(poll);
            // Poll 2 repeats cookie 10 unchanged and brings a new cookie 12.
            decoder.Decode(poll == 1 ? SocketsThenDone(1, 10, 11) : SocketsThenDone(2, 10, 12), dump, Context);
            table.EndPoll();
        }
        Assert.Equal([10UL, 11UL, 12UL], sink.Records.Select(r => r.Socket.Cookie));
        Assert.All(sink.Records, r => Assert.Equal(RecordReasons.FirstSight, r.RecordReason));
        Assert.Equal(0UL, sink.Records[^1].RecordCounter); // numbered among the records sent
        Assert.Equal(2, table.Count); // 11 was evicted (not in poll 2): 10 and 12 remain
    }

    [Fact]
    public void Nothing_after_a_DONE_is_data_of_the_dump()
    {
        var (decoder, sink) = New();
        var datagram = new DatagramBuilder().Done(1).ToArray().Concat(Sockets(1, 20)).ToArray();

        Assert.Equal(new DecodedDatagram(0, DatagramEnding.Done, 0), decoder.Decode(datagram, new DumpRecords(), Context));
        Assert.Empty(sink.Records);
    }

    [Fact]
    public void An_error_ends_the_dump_with_its_errno()
    {
        var (decoder, sink) = New();
        var datagram = Sockets(1, 30).Concat(Error(1, 16)).Concat(Sockets(1, 31)).ToArray();

        Assert.Equal(new DecodedDatagram(1, DatagramEnding.Error, 16), decoder.Decode(datagram, new DumpRecords(), Context));
        Assert.Equal([30UL], sink.Records.Select(r => r.Socket.Cookie));
    }

    [Fact]
    public void From_an_interrupted_datagram_on_every_record_of_the_dump_is_flagged_incomplete()
    {
        var (decoder, sink) = New();
        var dump = new DumpRecords();
        decoder.Decode(Sockets(1, 1), dump, Context);
        decoder.Decode(Sockets(1, 2).Concat(Interrupted(1, 3)).ToArray(), dump, Context);
        decoder.Decode(Sockets(1, 4), dump, Context);

        Assert.Equal([false, true, true, true], sink.Records.Select(r => r.DumpIncomplete));
        Assert.True(dump.Incomplete);
    }

    [Fact]
    public void The_live_path_flags_what_the_lane_said_and_does_not_read_DUMP_INTR_itself()
    {
        var (decoder, sink) = New();
        var dump = new DumpRecords();
        decoder.AppendSnapshot(Interrupted(1, 1), dump, Context); // the lane did not flag it: not read here
        dump.Incomplete = true; // the lane forwarded an InterruptedDatagram frame
        decoder.AppendSnapshot(Sockets(1, 2), dump, Context);

        Assert.Equal([false, true], sink.Records.Select(r => r.DumpIncomplete));
    }

    [Fact]
    public void A_sink_that_throws_loses_the_chunk_but_not_the_worker()
    {
        var decoder = new DumpDecoder(new ThrowingSink(), new ParseErrorCounters(), 0, NullLogger.Instance);
        Assert.Equal(new DecodedDatagram(0, DatagramEnding.None, 0), decoder.Decode(Sockets(1, 1, 2), new DumpRecords(), Context));
    }

    [Fact]
    public void A_destroy_record_carries_the_owner_its_namespace_remembered_only_while_the_namespace_has_none()
    {
        var (decoder, sink) = New();
        var owner = RecordAttribution.Create(new string('c', 64), "containerd", "");
        var owners = new DestroyOwners();
        owners.BeginPoll();
        owners.Remember(40, owner);
        owners.Remember(41, owner);
        owners.EndPoll();
        var owned = new RecordContext { Hostname = "h", Netns = "pod", NetnsInode = 2, TimestampNs = 1, Attribution = owner };

        Assert.Equal(2, decoder.DecodeEvents(Sockets(0, 40, 42), Context, readTimeNs: 5, owners));
        decoder.DecodeEvents(Sockets(0, 41), owned, readTimeNs: 6, owners); // the namespace has its own owner now

        Assert.Equal([40UL, 41UL, 42UL], sink.Records.Select(r => r.Socket.Cookie).Order());
        Assert.Same(owner, sink.Records.Single(r => r.Socket.Cookie == 40).Attribution);
        Assert.Null(sink.Records.Single(r => r.Socket.Cookie == 42).Attribution); // never attributed by a poll
        Assert.Null(sink.Records.Single(r => r.Socket.Cookie == 41).Attribution); // null = the namespace's (its context's)
        Assert.Equal(0, owners.Count); // each event took its entry
    }

    private static (DumpDecoder Decoder, KeepingSink Sink) New()
    {
        var sink = new KeepingSink();
        return (new DumpDecoder(sink, new ParseErrorCounters(), netlinkerId: 3, NullLogger.Instance), sink);
    }

    private sealed class KeepingSink : IRecordSink
    {
        public List<FlatRecord> Records { get; } = new();
        public void Append(ReadOnlySpan<FlatRecord> records) => Records.AddRange(records.ToArray());
        public void EndOfPoll(FlushReason reason) { }
        public Task ShutdownAsync(TimeSpan timeout) => Task.CompletedTask;
    }

    private sealed class ThrowingSink : IRecordSink
    {
        public void Append(ReadOnlySpan<FlatRecord> records) => throw new InvalidOperationException("broken");
        public void EndOfPoll(FlushReason reason) { }
        public Task ShutdownAsync(TimeSpan timeout) => Task.CompletedTask;
    }
}
