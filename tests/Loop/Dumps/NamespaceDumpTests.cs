using Microsoft.Extensions.Logging.Abstractions;
using XtcpEpoll.Loop;
using XtcpEpoll.Loop.Dumps;
using XtcpEpoll.Netlink.Native;
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
    private static readonly DumpStep Forward = DumpStep.Forward, Send = DumpStep.Send, None = DumpStep.None;
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

    // ---------------------------------------------------------------- shared tables: walks and lookups

    [Fact]
    public void The_first_poll_walks_every_wanted_state_and_collects_the_listeners()
    {
        var (context, dump) = New(track: true);
        var request = Assert.Single(StartPoll(dump));

        Assert.Equal(TcpStates.Default, request.States);
        Assert.Equal(Forward, dump.OnDatagram(Listeners(request.Sequence, 11, 12)));
        Assert.Equal(Forward.Then(Done), dump.OnDatagram(SocketsThenDone(request.Sequence, 13))); // established: not a listener
        Assert.Equal(2, dump.Listeners!.Count);
        Assert.Equal(1, context.Counts.WalksForRefresh);
    }

    [Fact]
    public void Between_walks_the_dump_skips_the_host_wide_states_and_carries_one_lookup_per_listener()
    {
        var (context, dump) = New(track: true);
        WalkListeners(dump, 11, 12);

        var sent = StartPoll(dump, pollStart: 2);
        Assert.Equal(3, sent.Count);
        Assert.Equal((true, TcpStates.Default & ~TcpStates.InHostWideTables), (sent[0].Dump, sent[0].States));
        Assert.All(sent.Skip(1), lookup => Assert.Equal((NetlinkConstants.SOCK_DIAG_BY_FAMILY, false), (lookup.Type, lookup.Dump)));
        Assert.Equal([11UL, 12UL], sent.Skip(1).Select(l => l.Cookie));
        Assert.Equal([sent[0].Sequence + 1, sent[0].Sequence + 2], sent.Skip(1).Select(l => l.Sequence)); // following the dump's
        Assert.Equal(1, context.Counts.WalksForRefresh);
    }

    [Fact]
    public void The_namespace_ends_when_the_dumps_DONE_and_every_lookup_answer_are_in()
    {
        var (context, dump) = New(track: true);
        WalkListeners(dump, 11, 12);
        var sent = StartPoll(dump, pollStart: 2);

        Assert.Equal(Forward, dump.OnDatagram(LookupFound(sent[1].Sequence, 11)));
        Assert.Equal(None, dump.OnDatagram(Done(sent[0].Sequence))); // one lookup still unanswered
        Assert.Equal(Forward.Then(Done), dump.OnDatagram(LookupFound(sent[2].Sequence, 12)));
        Assert.Equal((2, 0), (context.Counts.LookupsFound, context.Counts.LookupsMissing));
    }

    [Fact]
    public void The_deadline_with_only_lookup_answers_outstanding_leaves_nothing_to_discard()
    {
        var (_, dump) = New(track: true);
        WalkListeners(dump, 11);
        var sent = StartPoll(dump, pollStart: 2);
        dump.OnDatagram(Done(sent[0].Sequence));

        Assert.Equal(Timeout, dump.OnDeadline());
        Assert.Equal(DumpState.Idle, dump.State);
    }

    [Fact]
    public void A_missed_lookup_walks_the_listening_table_in_the_same_poll()
    {
        var (context, dump) = New(track: true);
        WalkListeners(dump, 11, 12);
        var sent = StartPoll(dump, pollStart: 2);

        Assert.Equal(None, dump.OnDatagram(Error(sent[1].Sequence, 2 /*ENOENT*/)));
        Assert.Equal(Forward, dump.OnDatagram(LookupFound(sent[2].Sequence, 12)));
        Assert.Equal(Send, dump.OnDatagram(Done(sent[0].Sequence)));
        var walk = Assert.Single(Sent(context));
        Assert.Equal((true, TcpStates.Listen), (walk.Dump, walk.States));
        Assert.Equal((1, 1), (context.Counts.LookupsMissing, context.Counts.WalksForLookupMiss));

        Assert.Equal(Forward.Then(Done), dump.OnDatagram(ListenersThenDone(walk.Sequence, 12))); // the replaced listener is gone
        Assert.Equal(1, dump.Listeners!.Count);
        Assert.Single(StartPoll(dump, pollStart: 3).Skip(1)); // next poll: one lookup again
    }

    [Fact]
    public void A_listener_whose_lookup_missed_but_the_walk_found_makes_every_poll_walk()
    {
        var (context, dump) = New(track: true);
        WalkListeners(dump, 11, 12);
        var sent = StartPoll(dump, pollStart: 2);
        dump.OnDatagram(LookupFound(sent[1].Sequence, 11));
        dump.OnDatagram(Error(sent[2].Sequence, 2 /*ENOENT*/));  // e.g. the second member of an SO_REUSEPORT group
        dump.OnDatagram(Done(sent[0].Sequence));
        uint walk = Sent(context)[0].Sequence;
        Assert.Equal(Forward.Then(Done), dump.OnDatagram(ListenersThenDone(walk, 11, 12)));

        var next = Assert.Single(StartPoll(dump, pollStart: 3)); // no lookups: a walk of every state
        Assert.Equal(TcpStates.Default, next.States);
        Assert.Equal(1, context.Counts.WalksUntracked);
    }

    [Fact]
    public void A_walk_cut_short_is_never_trusted()
    {
        var (context, dump) = New(track: true);
        uint seq = StartPoll(dump)[0].Sequence;
        dump.OnDatagram(Listeners(seq, 11));
        dump.OnDeadline();
        dump.OnDatagram(Done(seq));

        Assert.Equal(TcpStates.Default, Assert.Single(StartPoll(dump, pollStart: 2)).States); // walks again
        Assert.Equal(2, context.Counts.WalksForRefresh);
    }

    [Fact]
    public void V2_lookups_ride_the_AF_INET_request_and_the_namespace_ends_after_AF_INET6()
    {
        var (context, dump) = New(RequestMode.V2, track: true);
        WalkListeners(dump, 11);
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
        var (context, dump) = New(track: true);
        // A refusal while lookups are out (real kernels refuse at the first poll, which walks): their answers
        // still count, they were v2 requests already.
        WalkListeners(dump, 11);
        var sent = StartPoll(dump, pollStart: 2);

        Assert.Equal(Send, dump.OnDatagram(Error(sent[0].Sequence, 22 /*EINVAL*/)));
        var v2 = Assert.Single(Sent(context)); // only the dump is asked again
        Assert.Equal(Forward, dump.OnDatagram(LookupFound(sent[1].Sequence, 11)));
        Assert.Equal(Send, dump.OnDatagram(Done(v2.Sequence)));
        Assert.Equal(Done, dump.OnDatagram(Done(Sent(context)[0].Sequence)));
    }

    [Fact]
    public void Without_tracking_a_dump_that_asks_for_listeners_is_a_counted_untracked_walk()
    {
        var (context, dump) = New(track: false);
        Assert.Equal(TcpStates.Default, StartPoll(dump)[0].States);
        Assert.Equal(1, context.Counts.WalksUntracked);
        Assert.Null(dump.Listeners);
    }

    [Theory]
    [InlineData(TcpStates.Default, 60, true)]
    [InlineData(TcpStates.Listen, 60, false)]                 // no other state: no dump for lookups to ride
    [InlineData(TcpStates.Default & ~TcpStates.Listen, 60, false)]
    [InlineData(TcpStates.Default, 0, false)]                 // --shared-tables-refresh 0
    public void Shared_tables_are_tracked_only_when_lookups_have_a_dump_to_ride(uint states, int refreshSeconds, bool tracked)
    {
        var options = new CollectorOptions { States = states, SharedTablesRefresh = TimeSpan.FromSeconds(refreshSeconds) };
        Assert.Equal(tracked, DumpSettings.From(options).TrackSharedTables);
    }

    // ---------------------------------------------------------------- helpers

    private static DumpContext NewContext(RequestMode mode = RequestMode.Compat, bool track = false) =>
        new(new DumpSettings(mode, TcpStates.Default, Ext, track, RefreshTicks: 1_000_000), new RequestBuffer(100), NullLogger.Instance);

    private static (DumpContext Context, NamespaceDump Dump) New(RequestMode mode = RequestMode.Compat, bool track = false)
    {
        var context = NewContext(mode, track);
        return (context, new NamespaceDump(7, "ns-test", context));
    }

    /// <summary>Schedules and starts a poll; returns what the dump asked the lane to send.</summary>
    private static List<SentRequest> StartPoll(NamespaceDump dump, long pollStart = 1)
    {
        Assert.Equal(None, dump.Schedule());
        Assert.Equal(Send, dump.Start(pollStart));
        return Sent(ContextOf(dump));
    }

    /// <summary>A first poll whose walk finds these listeners (and ends).</summary>
    private static void WalkListeners(NamespaceDump dump, params ulong[] cookies)
    {
        var context = ContextOf(dump);
        uint seq = StartPoll(dump, pollStart: 1)[0].Sequence;
        dump.OnDatagram(Listeners(seq, cookies));
        var step = dump.OnDatagram(Done(seq));
        if (context.Settings.Mode == RequestMode.V2)
        {
            Assert.Equal(Send, step);
            step = dump.OnDatagram(Done(Sent(context)[0].Sequence));
        }
        Assert.Equal(Done, step);
    }

    private static DumpContext ContextOf(NamespaceDump dump) => dump.Context;
}
