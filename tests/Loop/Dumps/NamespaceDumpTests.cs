using Microsoft.Extensions.Logging.Abstractions;
using XtcpEpoll.Loop;
using XtcpEpoll.Loop.Dumps;
using XtcpEpoll.Netlink.Native;
using XtcpEpoll.Netlink.Parsing;
using XtcpEpoll.Netlink.Requests;
using Xunit;
using static XtcpEpoll.Tests.Loop.Dumps.DumpWire;

namespace XtcpEpoll.Tests.Loop.Dumps;

/// <summary>
/// The per-namespace dump state machine on synthetic datagrams: no socket, no namespace, no root. One test per
/// transition; the requests it writes are decoded as the kernel would read them.
/// </summary>
public sealed class NamespaceDumpTests
{
    private const byte Ext = 0x12;
    private static readonly DumpStep Forward = DumpStep.Forward, Send = DumpStep.Send, None = DumpStep.None, AwaitWalk = DumpStep.AwaitWalk;
    private static readonly DumpStep Done = DumpStep.Ended(DumpEnd.Done), Timeout = DumpStep.Ended(DumpEnd.Timeout),
        Error = DumpStep.Ended(DumpEnd.Error), Abandoned = DumpStep.Ended(DumpEnd.Abandoned);

    // ---------------------------------------------------------------- one dump

    [Fact]
    public void A_poll_schedules_then_sends_one_compat_dump_of_the_wanted_states()
    {
        var (context, dump) = New();
        Assert.Equal(None, dump.Schedule());
        Assert.Equal(DumpState.Scheduled, dump.State);
        Assert.Equal(Send, dump.Start(1));

        var request = Assert.Single(Sent(context));
        Assert.Equal(new SentRequest(NetlinkConstants.TCPDIAG_GETSOCK, true, 101, NetlinkConstants.AF_UNSPEC, TcpStates.Default, 0), request);
        Assert.Equal(DumpState.Dumping, dump.State);
    }

    [Fact]
    public void Replies_with_sockets_are_forwarded_and_DONE_ends_the_namespace()
    {
        var (_, dump) = New();
        uint seq = StartPoll(dump)[0].Sequence;

        Assert.Equal(Forward, dump.OnDatagram(Sockets(seq, 1, 2)));
        Assert.Equal(Done, dump.OnDatagram(Done(seq)));
        Assert.Equal(DumpState.Idle, dump.State);
    }

    [Fact]
    public void The_last_batch_with_DONE_is_forwarded_and_ends_the_namespace()
    {
        var (_, dump) = New();
        uint seq = StartPoll(dump)[0].Sequence;

        Assert.Equal(Forward.Then(Done), dump.OnDatagram(SocketsThenDone(seq, 1)));
    }

    [Fact]
    public void A_reply_to_another_request_is_dropped()
    {
        var (_, dump) = New();
        uint seq = StartPoll(dump)[0].Sequence;

        Assert.Equal(None, dump.OnDatagram(Sockets(seq - 1, 1)));  // a late reply of an earlier dump
        Assert.Equal(None, dump.OnDatagram(Done(seq + 5)));
        Assert.Equal(DumpState.Dumping, dump.State);
        Assert.Equal(Done, dump.OnDatagram(Done(seq)));
    }

    [Fact]
    public void Replies_outside_a_poll_are_dropped()
    {
        var (_, dump) = New();
        Assert.Equal(None, dump.OnDatagram(Sockets(101, 1)));
        dump.Schedule();
        Assert.Equal(None, dump.OnDatagram(Sockets(101, 1))); // scheduled, nothing sent yet
    }

    [Fact]
    public void Every_request_of_a_lane_has_its_own_sequence_number()
    {
        var context = NewContext(RequestMode.V2);
        var first = new NamespaceDump(1, "a", context);
        var second = new NamespaceDump(2, "b", context);
        var seen = new List<uint>();
        for (int poll = 0; poll < 3; poll++)
        {
            foreach (var dump in new[] { first, second })
            {
                uint inet = StartPoll(dump)[0].Sequence;
                Assert.Equal(Send, dump.OnDatagram(Done(inet)));
                uint inet6 = Assert.Single(Sent(context)).Sequence;
                Assert.Equal(Done, dump.OnDatagram(Done(inet6)));
                seen.Add(inet);
                seen.Add(inet6);
            }
        }
        Assert.Equal(seen.Count, seen.Distinct().Count());
        Assert.Equal(seen.Order(), seen); // increasing: a reply of an earlier poll never matches a later request
    }

    [Fact]
    public void DUMP_INTR_is_counted_once_per_poll()
    {
        var (context, dump) = New();
        for (int poll = 0; poll < 2; poll++)
        {
            uint seq = StartPoll(dump)[0].Sequence;
            dump.OnDatagram(Interrupted(seq, 1));
            dump.OnDatagram(Interrupted(seq, 2));
            Assert.Equal(Done, dump.OnDatagram(Done(seq)));
        }
        Assert.Equal(2, context.Counts.Interrupts);
    }

    [Fact]
    public void A_datagram_with_DUMP_INTR_is_forwarded_flagged_so_the_parse_worker_need_not_read_it()
    {
        var (_, dump) = New();
        uint seq = StartPoll(dump)[0].Sequence;
        Assert.Equal(Forward, dump.OnDatagram(Sockets(seq, 1)));
        var step = dump.OnDatagram(Interrupted(seq, 2));
        Assert.Equal(DumpStep.ForwardInterrupted, step);
        Assert.True(step.Forwards && step.Interrupted);
        Assert.False(dump.OnDatagram(SocketsThenDone(seq, 3)).Interrupted); // flagged by the datagram that carries it
    }

    // ---------------------------------------------------------------- request kinds

    [Fact]
    public void V2_asks_for_AF_INET6_only_after_AF_INETs_DONE()
    {
        var (context, dump) = New(RequestMode.V2);
        var inet = Assert.Single(StartPoll(dump));
        Assert.Equal((NetlinkConstants.SOCK_DIAG_BY_FAMILY, true, NetlinkConstants.AF_INET), (inet.Type, inet.Dump, inet.Family));

        Assert.Equal(Forward.Then(Send), dump.OnDatagram(SocketsThenDone(inet.Sequence, 1)));
        var inet6 = Assert.Single(Sent(context));
        Assert.Equal((NetlinkConstants.SOCK_DIAG_BY_FAMILY, true, NetlinkConstants.AF_INET6), (inet6.Type, inet6.Dump, inet6.Family));
        Assert.True(inet6.Sequence > inet.Sequence);

        Assert.Equal(None, dump.OnDatagram(Done(inet.Sequence))); // AF_INET's is over: a stray now
        Assert.Equal(Forward, dump.OnDatagram(Sockets(inet6.Sequence, 2)));
        Assert.Equal(Done, dump.OnDatagram(Done(inet6.Sequence)));
    }

    [Theory]
    [InlineData(22)]  // EINVAL
    [InlineData(95)]  // EOPNOTSUPP
    [InlineData(2)]   // ENOENT
    [InlineData(93)]  // EPROTONOSUPPORT
    public void A_namespace_refusing_the_compat_request_switches_to_v2_for_good(int errno)
    {
        var (context, dump) = New();
        uint compat = StartPoll(dump)[0].Sequence;

        Assert.Equal(Send, dump.OnDatagram(Error(compat, errno)));
        var v2 = Assert.Single(Sent(context));
        Assert.Equal((NetlinkConstants.SOCK_DIAG_BY_FAMILY, NetlinkConstants.AF_INET), (v2.Type, v2.Family));
        Assert.True(dump.UsesV2);
        Assert.Equal(1, context.Counts.CompatFallbacks);
        Assert.Equal(Send, dump.OnDatagram(Done(v2.Sequence)));
        Assert.Equal(Done, dump.OnDatagram(Done(Sent(context)[0].Sequence)));

        Assert.Equal(NetlinkConstants.SOCK_DIAG_BY_FAMILY, StartPoll(dump)[0].Type); // the next poll asks v2 at once
        Assert.Equal(1, context.Counts.CompatFallbacks);
    }

    [Fact]
    public void An_error_reply_that_is_no_compat_refusal_ends_the_namespace_with_an_error()
    {
        var (context, dump) = New();
        uint seq = StartPoll(dump)[0].Sequence;

        Assert.Equal(Error, dump.OnDatagram(Error(seq, 16 /*EBUSY*/)));
        Assert.Equal(DumpState.Idle, dump.State); // the kernel ended it: nothing to discard
        Assert.Equal((1, 0), (context.Counts.DumpErrors, context.Counts.CompatFallbacks));
    }

    // ---------------------------------------------------------------- deadlines, errors, removal

    [Fact]
    public void The_deadline_while_the_dump_runs_discards_its_replies_until_its_DONE()
    {
        var (context, dump) = New();
        uint seq = StartPoll(dump)[0].Sequence;
        dump.OnDatagram(Sockets(seq, 1));

        Assert.Equal(Timeout, dump.OnDeadline());
        Assert.Equal(DumpState.Discarding, dump.State);
        Assert.Equal(1, context.Counts.Timeouts);
        Assert.Equal(None, dump.OnDatagram(Sockets(seq, 2)));    // dropped, never forwarded
        Assert.Equal(None, dump.OnDatagram(Done(seq - 1)));      // another dump's DONE does not end the discard
        Assert.Equal(DumpState.Discarding, dump.State);
        Assert.Equal(None, dump.OnDatagram(Done(seq)));
        Assert.Equal(DumpState.Idle, dump.State);
    }

    [Fact]
    public void A_poll_that_finds_the_socket_still_discarding_ends_it_as_a_timeout_and_sends_nothing()
    {
        var (context, dump) = New();
        uint seq = StartPoll(dump)[0].Sequence;
        dump.OnDeadline();

        Assert.Equal(Timeout, dump.Schedule()); // no second dump on a socket that still runs one (EBUSY)
        Assert.Equal(DumpState.Discarding, dump.State);
        Assert.Equal(2, context.Counts.Timeouts);
        dump.OnDatagram(Done(seq));
        Assert.Single(StartPoll(dump)); // drained: the next poll dumps again
    }

    [Fact]
    public void The_deadline_before_the_send_slot_ends_the_namespace_with_nothing_to_discard()
    {
        var (context, dump) = New();
        dump.Schedule();

        Assert.Equal(Timeout, dump.OnDeadline());
        Assert.Equal(DumpState.Idle, dump.State);
        Assert.Equal(1, context.Counts.Timeouts);
    }

    [Fact]
    public void The_deadline_outside_a_poll_does_nothing()
    {
        var (context, dump) = New();
        Assert.Equal(None, dump.OnDeadline());
        Assert.Equal(0, context.Counts.Timeouts);
    }

    /// <summary>Defect (issue 12): a recv error left the namespace Idle, and the next poll's dump met EBUSY.</summary>
    [Fact]
    public void A_recv_error_while_the_dump_runs_ends_the_namespace_and_discards_the_dump()
    {
        var (context, dump) = New();
        uint seq = StartPoll(dump)[0].Sequence;

        Assert.Equal(Error, dump.OnReceiveFailed(105 /*ENOBUFS*/));
        Assert.Equal(DumpState.Discarding, dump.State); // the kernel goes on with that dump to its DONE
        Assert.Equal(1, context.Counts.DumpErrors);
        Assert.Equal(Timeout, dump.Schedule());          // the next poll sends nothing on that socket
        Assert.Equal(None, dump.OnDatagram(Sockets(seq, 1)));
        dump.OnDatagram(Done(seq));
        Assert.Equal(DumpState.Idle, dump.State);
    }

    [Fact]
    public void A_recv_error_while_discarding_keeps_discarding()
    {
        var (_, dump) = New();
        uint seq = StartPoll(dump)[0].Sequence;
        dump.OnDeadline();

        Assert.Equal(None, dump.OnReceiveFailed(105 /*ENOBUFS*/));
        Assert.Equal(DumpState.Discarding, dump.State);
        dump.OnDatagram(Done(seq));
        Assert.Equal(DumpState.Idle, dump.State);
    }

    [Fact]
    public void A_failed_send_ends_the_namespace_with_an_error_and_nothing_to_discard()
    {
        var (context, dump) = New();
        StartPoll(dump);

        Assert.Equal(Error, dump.OnSendFailed(105 /*ENOBUFS*/));
        Assert.Equal(DumpState.Idle, dump.State);
        Assert.Equal(1, context.Counts.DumpErrors);
    }

    [Fact]
    public void Removal_abandons_a_dump_of_the_running_poll()
    {
        var (context, dump) = New();
        dump.Schedule();
        Assert.Equal(Abandoned, dump.OnRemoved());
        var (_, running) = New();
        StartPoll(running);
        Assert.Equal(Abandoned, running.OnRemoved());
        Assert.Equal(1, context.Counts.Abandoned);
        Assert.Equal(None, dump.OnRemoved()); // already ended
    }

    [Fact]
    public void An_impossible_order_of_events_fails_fast()
    {
        var (_, dump) = New();
        Assert.Throws<InvalidOperationException>(() => dump.Start(1)); // never scheduled
        dump.Schedule();
        Assert.Throws<InvalidOperationException>(() => dump.Schedule());
    }

    // ---------------------------------------------------------------- known sockets: walks and lookups

    private const byte Closed = TcpState.Close, TimeWait = TcpState.TimeWait;
    private const long Interval = 1_000_000;

    [Fact]
    public void With_walk_interval_zero_every_poll_walks_every_wanted_state_and_keeps_no_keys()
    {
        var (context, dump) = New();
        for (int poll = 1; poll <= 3; poll++)
        {
            var request = Assert.Single(StartPoll(dump, pollStart: poll * Interval));
            Assert.Equal(TcpStates.Default, request.States);
            Assert.Equal(Forward.Then(Done), dump.OnDatagram(SocketsThenDone(request.Sequence, 1)));
        }
        Assert.Equal(3, context.Counts.Walks[(int)WalkReason.Interval]);
        Assert.Null(dump.Known);
    }

    [Fact]
    public void The_first_poll_walks_in_full_and_keeps_every_socket_a_lookup_can_find()
    {
        var (context, dump) = New(interval: Interval);
        var request = Assert.Single(StartPoll(dump));

        Assert.Equal(TcpStates.Default, request.States);
        Assert.Equal(Forward, dump.OnDatagram(Walk(request.Sequence, false, (Listen, 11), (Listen, 12))));
        Assert.Equal(Forward.Then(Done), dump.OnDatagram(Walk(request.Sequence, true, (Established, 13), (TimeWait, 14), (Closed, 15))));
        Assert.Equal((2, 2), (dump.Known!.ListenerCount, dump.Known.ConnectionCount)); // CLOSE (bound-inactive) is in no lookup table
        Assert.Equal(1, context.Counts.Walks[(int)WalkReason.First]);
    }

    [Fact]
    public void Between_walks_a_shared_table_namespace_looks_up_every_known_socket_and_walks_nothing()
    {
        var (context, dump) = New(interval: Interval);
        FirstWalk(dump, (Listen, 11), (Established, 12), (Established, 13));

        var sent = StartPoll(dump, pollStart: 2);
        Assert.All(sent, r => Assert.Equal((NetlinkConstants.SOCK_DIAG_BY_FAMILY, false), (r.Type, r.Dump)));
        Assert.Equal([11UL, 12UL, 13UL], sent.Select(r => r.Cookie)); // listeners first
        Assert.Equal([sent[0].Sequence, sent[0].Sequence + 1, sent[0].Sequence + 2], sent.Select(r => r.Sequence));

        Assert.Equal(Forward, dump.OnDatagram(LookupFound(sent[0].Sequence, 11)));
        Assert.Equal(Forward, dump.OnDatagram(LookupFound(sent[2].Sequence, 13, Established)));
        Assert.Equal(Forward.Then(Done), dump.OnDatagram(LookupFound(sent[1].Sequence, 12, Established))); // any order
        Assert.Equal((3, 0), (context.Counts.LookupsFound, context.Counts.LookupsMissing));
        Assert.Equal(0, context.Counts.Walks[(int)WalkReason.Dense] + context.Counts.Walks[(int)WalkReason.OwnTable]);
    }

    [Fact]
    public void A_known_set_longer_than_one_sendmsg_goes_out_in_batches_each_after_the_last_ones_answers()
    {
        var (context, dump) = New(interval: Interval);
        int known = RequestBuffer.MaxLookups * 2 + 5;
        FirstWalk(dump, [.. Enumerable.Range(1, known).Select(i => (Established, (ulong)i))]);

        var batches = new List<List<SentRequest>> { StartPoll(dump, pollStart: 2) };
        while (true)
        {
            var batch = batches[^1];
            Assert.InRange(batch.Count, 1, RequestBuffer.MaxLookups);
            DumpStep step = None;
            for (int i = 0; i < batch.Count; i++)
            {
                step = dump.OnDatagram(LookupFound(batch[i].Sequence, batch[i].Cookie, Established));
                if (i < batch.Count - 1) Assert.Equal(Forward, step); // the next batch waits for this one's answers
            }
            if (step == Forward.Then(Done)) break;
            Assert.Equal(Forward.Then(Send), step);
            batches.Add(Sent(context));
        }
        Assert.Equal([RequestBuffer.MaxLookups, RequestBuffer.MaxLookups, 5], batches.Select(b => b.Count));
        Assert.Equal(Enumerable.Range(1, known).Select(i => (ulong)i), batches.SelectMany(b => b).Select(r => r.Cookie));
    }

    [Fact]
    public void A_connection_whose_lookup_misses_is_dropped_and_not_looked_up_again()
    {
        var (context, dump) = New(interval: Interval);
        FirstWalk(dump, (Established, 12), (Established, 13));
        var sent = StartPoll(dump, pollStart: 2);

        Assert.Equal(None, dump.OnDatagram(Error(sent[0].Sequence, 2 /*ENOENT*/))); // closed between the walk and the lookup
        Assert.Equal(Forward.Then(Done), dump.OnDatagram(LookupFound(sent[1].Sequence, 13, Established))); // no walk follows
        Assert.Equal(1, context.Counts.LookupsMissing);

        Assert.Equal([13UL], StartPoll(dump, pollStart: 3).Select(r => r.Cookie));
    }

    [Fact]
    public void A_listener_whose_lookup_misses_makes_the_same_poll_walk_the_listening_table()
    {
        var (context, dump) = New(interval: Interval);
        FirstWalk(dump, (Listen, 11), (Listen, 12), (Established, 13));
        var sent = StartPoll(dump, pollStart: 2);

        Assert.Equal(None, dump.OnDatagram(Error(sent[0].Sequence, 2 /*ENOENT*/)));
        Assert.Equal(Forward, dump.OnDatagram(LookupFound(sent[1].Sequence, 12)));
        Assert.Equal(Forward.Then(Send), dump.OnDatagram(LookupFound(sent[2].Sequence, 13, Established)));
        var walk = Assert.Single(Sent(context));
        Assert.Equal((true, TcpStates.Listen), (walk.Dump, walk.States));
        Assert.Equal(1, context.Counts.Walks[(int)WalkReason.LookupMiss]);

        Assert.Equal(Forward.Then(Done), dump.OnDatagram(Walk(walk.Sequence, true, (Listen, 12), (Listen, 21)))); // 11 replaced by 21
        Assert.Equal([12UL, 21UL, 13UL], StartPoll(dump, pollStart: 3).Select(r => r.Cookie));
    }

    [Fact]
    public void A_listener_that_a_lookup_cannot_reach_is_walked_at_every_poll_until_the_next_full_walk()
    {
        var (context, dump) = New(interval: Interval);
        FirstWalk(dump, (Listen, 11), (Listen, 12), (Established, 13));
        var sent = StartPoll(dump, pollStart: 2);
        dump.OnDatagram(LookupFound(sent[0].Sequence, 11));
        dump.OnDatagram(Error(sent[1].Sequence, 2 /*ENOENT*/)); // e.g. the second member of an SO_REUSEPORT group
        dump.OnDatagram(LookupFound(sent[2].Sequence, 13, Established));
        uint walk = Sent(context)[0].Sequence;
        Assert.Equal(Forward.Then(Done), dump.OnDatagram(Walk(walk, true, (Listen, 11), (Listen, 12)))); // still there

        var next = StartPoll(dump, pollStart: 3); // the connection is looked up, the listeners are walked
        Assert.Equal([13UL], next.Select(r => r.Cookie));
        Assert.Equal(Forward.Then(Send), dump.OnDatagram(LookupFound(next[0].Sequence, 13, Established)));
        Assert.Equal((true, TcpStates.Listen), (Sent(context)[0].Dump, Sent(context)[0].States));
        Assert.Equal(1, context.Counts.Walks[(int)WalkReason.Unreachable]);
    }

    [Fact]
    public void An_own_table_namespace_dumps_its_established_table_every_poll_with_its_listener_lookups_riding_it()
    {
        var (context, dump) = New(interval: Interval, ehash: 1024);
        FirstWalk(dump, (Listen, 11), (Established, 12));

        var sent = StartPoll(dump, pollStart: 2);
        Assert.Equal(2, sent.Count);
        Assert.Equal((true, TcpStates.Default & ~TcpStates.InHostWideTables), (sent[0].Dump, sent[0].States));
        Assert.Equal((false, 11UL, sent[0].Sequence + 1), (sent[1].Dump, sent[1].Cookie, sent[1].Sequence)); // the listener only
        Assert.Equal(1, context.Counts.Walks[(int)WalkReason.OwnTable]);

        Assert.Equal(Forward, dump.OnDatagram(Walk(sent[0].Sequence, false, (Established, 12), (Established, 14)))); // 14 is new
        Assert.Equal(None, dump.OnDatagram(Done(sent[0].Sequence)));
        Assert.Equal(Forward.Then(Done), dump.OnDatagram(LookupFound(sent[1].Sequence, 11)));
        Assert.Equal((1, 2), (dump.Known!.ListenerCount, dump.Known.ConnectionCount));
    }

    [Theory]
    [InlineData(1_000, 0, true)]          // 1,000 x 1.85 µs > ~1 ms of bucket walk on an otherwise empty host: walk
    [InlineData(1_000, 100_000, false)]   // the walk would also skip 100,000 sockets of other namespaces (~5.7 ms): look up
    [InlineData(100, 0, false)]
    public void A_shared_table_namespace_walks_its_established_table_only_when_its_lookups_would_cost_more(int known, long hostSockets, bool walks)
    {
        var (context, dump) = New(interval: Interval);
        FirstWalk(dump, [.. Enumerable.Range(1, known).Select(i => (Established, (ulong)i))]);
        context.HostSockets = hostSockets;

        var first = StartPoll(dump, pollStart: 2)[0];
        Assert.Equal(walks, first.Dump);
        Assert.Equal(walks ? 1 : 0, context.Counts.Walks[(int)WalkReason.Dense]);
    }

    [Fact]
    public void A_namespace_that_knows_no_socket_ends_between_walks_without_a_request()
    {
        var (context, dump) = New(interval: Interval);
        FirstWalk(dump);

        Assert.Equal(None, dump.Schedule());
        Assert.Equal(Done, dump.Start(2));
        Assert.Equal(DumpState.Idle, dump.State);
        Assert.Empty(Sent(context));
    }

    [Fact]
    public void The_walk_comes_due_once_per_interval_window()
    {
        var (context, dump) = New(interval: Interval);
        FirstWalk(dump, (Established, 12));
        var pollStarts = Enumerable.Range(1, 40).Select(i => i * (Interval / 10)).ToList(); // 10 polls per interval
        var walkedAt = new List<long>();
        foreach (long start in pollStarts)
        {
            var sent = StartPoll(dump, start);
            Assert.False(sent[0].Dump); // the known socket is looked up first, walk or not
            var step = dump.OnDatagram(LookupFound(sent[0].Sequence, 12, Established));
            if (step == Forward.Then(AwaitWalk))
            {
                walkedAt.Add(start);
                Assert.Equal(Send, dump.GrantWalk());
                Assert.Equal(Forward.Then(Done), dump.OnDatagram(SocketsThenDone(Sent(context)[0].Sequence, 12)));
            }
            else Assert.Equal(Forward.Then(Done), step);
        }
        Assert.Equal(4, walkedAt.Count);
        Assert.All(walkedAt.Zip(walkedAt.Skip(1)), pair => Assert.Equal(Interval, pair.Second - pair.First));
        Assert.Equal(4, context.Counts.Walks[(int)WalkReason.Interval]);
    }

    [Fact]
    public void Namespaces_opened_together_walk_in_even_shares_after_their_first_poll()
    {
        var context = NewContext(interval: Interval);
        var walksPerPoll = new int[10];
        for (ulong id = 1; id <= 200; id++)
        {
            var schedule = new WalkSchedule(Interval, id);
            Assert.True(schedule.Due(0, out var reason));
            Assert.Equal(WalkReason.First, reason);
            schedule.Completed(0);
            for (int poll = 1; poll <= 10; poll++)
            {
                if (!schedule.Due(poll * Interval / 10, out _)) continue;
                walksPerPoll[poll - 1]++;
                schedule.Completed(poll * Interval / 10);
            }
        }
        Assert.Equal(200, walksPerPoll.Sum()); // each exactly once in the interval after the first poll
        Assert.All(walksPerPoll, n => Assert.InRange(n, 10, 30)); // ~20 per poll, never all at once
        Assert.NotNull(context);
    }

    [Fact]
    public void A_walk_cut_short_is_never_trusted_the_next_poll_walks_again()
    {
        var (context, dump) = New(interval: Interval);
        FirstWalk(dump, (Established, 12));
        Interrupt(dump, [LookupsThenWalk(dump, Interval + Interval, 12)]); // the interval's walk, cut by the deadline

        // The cut walk had dropped the keys it was rebuilding: nothing to look up, the retry walk is asked for at once.
        Assert.True(Assert.Single(StartPoll(dump, pollStart: Interval * 2 + 1)).Dump);
        Assert.Equal(1, context.Counts.Walks[(int)WalkReason.Retry]);
    }

    [Fact]
    public void Lost_destroy_events_make_the_next_poll_walk_and_the_one_after_looks_up_again()
    {
        var (context, dump) = New(interval: Interval);
        FirstWalk(dump, (Established, 12));
        dump.RequestWalk(WalkReason.DestroyOverflow);

        var walk = LookupsThenWalk(dump, 2, 12);
        Assert.Equal((true, TcpStates.Default), (walk.Dump, walk.States));
        Assert.Equal(1, context.Counts.Walks[(int)WalkReason.DestroyOverflow]);
        dump.OnDatagram(SocketsThenDone(walk.Sequence, 12, 13));
        Assert.Equal([12UL, 13UL], StartPoll(dump, pollStart: 3).Select(r => r.Cookie));
    }

    [Fact]
    public void The_deadline_with_only_lookup_answers_outstanding_leaves_nothing_to_discard()
    {
        var (_, dump) = New(interval: Interval);
        FirstWalk(dump, (Established, 12));
        StartPoll(dump, pollStart: 2);

        Assert.Equal(Timeout, dump.OnDeadline());
        Assert.Equal(DumpState.Idle, dump.State);
        Assert.Single(StartPoll(dump, pollStart: 3)); // a timed-out lookup round drops nothing
    }

    [Fact]
    public void V2_lookups_ride_the_AF_INET_request_and_the_namespace_ends_after_AF_INET6()
    {
        var (context, dump) = New(RequestMode.V2, interval: Interval, ehash: 1024);
        FirstWalk(dump, (Listen, 11));
        var sent = StartPoll(dump, pollStart: 2);
        Assert.Equal([NetlinkConstants.AF_INET, NetlinkConstants.AF_INET], sent.Select(s => s.Family));

        Assert.Equal(Send, dump.OnDatagram(Done(sent[0].Sequence)));
        uint inet6 = Assert.Single(Sent(context)).Sequence;
        Assert.Equal(Forward, dump.OnDatagram(LookupFound(sent[1].Sequence, 11))); // answered while AF_INET6 runs
        Assert.Equal(Done, dump.OnDatagram(Done(inet6)));
    }

    [Fact]
    public void Lookup_answers_survive_a_compat_refusal()
    {
        var (context, dump) = New(interval: Interval, ehash: 1024);
        // A refusal while lookups are out (real kernels refuse at the first poll, which walks): their answers
        // still count, they were v2 requests already.
        FirstWalk(dump, (Listen, 11));
        var sent = StartPoll(dump, pollStart: 2);

        Assert.Equal(Send, dump.OnDatagram(Error(sent[0].Sequence, 22 /*EINVAL*/)));
        var v2 = Assert.Single(Sent(context)); // only the dump is asked again
        Assert.Equal(Forward, dump.OnDatagram(LookupFound(sent[1].Sequence, 11)));
        Assert.Equal(Send, dump.OnDatagram(Done(v2.Sequence)));
        Assert.Equal(Done, dump.OnDatagram(Done(Sent(context)[0].Sequence)));
    }

    [Fact]
    public void Only_listeners_wanted_between_walks_means_listener_lookups_alone()
    {
        var context = new DumpContext(new DumpSettings(RequestMode.Compat, TcpStates.Listen, Ext, Interval), new RequestBuffer(100), NullLogger.Instance);
        var dump = new NamespaceDump(7, "ns-test", context, -262144);
        FirstWalk(dump, (Listen, 11));
        var sent = Assert.Single(StartPoll(dump, pollStart: 2));
        Assert.Equal((false, 11UL), (sent.Dump, sent.Cookie));
    }

    [Fact]
    public void Walk_reasons_fit_the_lane_counts()
    {
        Assert.Equal(WalkCounts.Length, Enum.GetValues<WalkReason>().Length);
        Assert.Equal(WalkCounts.Length, XtcpEpoll.Loop.Metrics.LoopMetrics.WalksByReason.Length);
    }

    [Fact]
    public void The_walk_interval_becomes_ticks()
    {
        var settings = DumpSettings.From(new CollectorOptions { WalkInterval = TimeSpan.FromSeconds(2) });
        Assert.Equal(2 * System.Diagnostics.Stopwatch.Frequency, settings.WalkIntervalTicks);
        Assert.Equal(0, DumpSettings.From(new CollectorOptions { WalkInterval = TimeSpan.Zero }).WalkIntervalTicks);
    }

    // ---------------------------------------------------------------- helpers

    private static DumpContext NewContext(RequestMode mode = RequestMode.Compat, long interval = 0) =>
        new(new DumpSettings(mode, TcpStates.Default, Ext, interval), new RequestBuffer(100), NullLogger.Instance);

    /// <param name="ehash">tcp_ehash_entries of the namespace: negative = shares the host table (the default), positive = owns one.</param>
    private static (DumpContext Context, NamespaceDump Dump) New(RequestMode mode = RequestMode.Compat, long interval = 0, int ehash = -262144)
    {
        var context = NewContext(mode, interval);
        return (context, new NamespaceDump(7, "ns-test", context, ehash));
    }

    /// <summary>
    /// Schedules and starts a poll; returns what the dump asked the lane to send. A walk of the host's table that
    /// the dump asks for at once (nothing known to look up first) is granted, as a lane with budget to spare does.
    /// </summary>
    private static List<SentRequest> StartPoll(NamespaceDump dump, long pollStart = 1, TcpSocketCount? counters = null)
    {
        Assert.Equal(None, dump.Schedule());
        var step = dump.Start(pollStart, counters);
        if (step == AwaitWalk) step = dump.GrantWalk();
        Assert.Equal(Send, step);
        return Sent(ContextOf(dump));
    }

    /// <summary>
    /// A poll of a shared-table namespace whose full walk is due: its known sockets are looked up and found, then it
    /// asks for the walk, which is granted; returns the walk's request.
    /// </summary>
    private static SentRequest LookupsThenWalk(NamespaceDump dump, long pollStart, params ulong[] known)
    {
        var sent = StartPoll(dump, pollStart);
        Assert.Equal(known, sent.Select(r => r.Cookie));
        var step = None;
        foreach (var request in sent) step = dump.OnDatagram(LookupFound(request.Sequence, request.Cookie, Established));
        Assert.Equal(Forward.Then(AwaitWalk), step);
        Assert.Equal(DumpState.AwaitingWalk, dump.State);
        Assert.Equal(Send, dump.GrantWalk());
        return Assert.Single(Sent(ContextOf(dump)));
    }

    /// <summary>A first poll whose full walk finds these sockets (and ends).</summary>
    private static void FirstWalk(NamespaceDump dump, params (byte State, ulong Cookie)[] sockets)
    {
        var context = ContextOf(dump);
        uint seq = StartPoll(dump, pollStart: 1)[0].Sequence;
        var step = dump.OnDatagram(Walk(seq, true, sockets));
        if (context.Settings.Mode == RequestMode.V2)
        {
            Assert.Equal(sockets.Length > 0 ? Forward.Then(Send) : Send, step);
            step = dump.OnDatagram(Done(Sent(context)[0].Sequence));
        }
        Assert.Equal(sockets.Length > 0 && context.Settings.Mode != RequestMode.V2 ? Forward.Then(Done) : Done, step);
        context.TakeCounts();
    }

    /// <summary>The deadline cuts the poll whose requests were <paramref name="sent"/>; the dump's DONE is then drained.</summary>
    private static void Interrupt(NamespaceDump dump, List<SentRequest> sent)
    {
        Assert.Equal(Timeout, dump.OnDeadline());
        dump.OnDatagram(Done(sent[0].Sequence));
        Assert.Equal(DumpState.Idle, dump.State);
    }

    private static DumpContext ContextOf(NamespaceDump dump) => dump.Context;
}
