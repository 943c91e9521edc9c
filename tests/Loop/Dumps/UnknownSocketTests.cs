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
/// Issue 19 on synthetic datagrams (no root): a namespace's TCP counters, read as its poll begins, against what
/// the poll's requests found, decide whether it walks. Counting too many found sockets would hide a new one, so
/// every case where a socket could be counted twice or counted when the kernel does not count it is pinned here.
/// </summary>
public sealed class UnknownSocketTests
{
    private static readonly DumpStep Forward = DumpStep.Forward, Send = DumpStep.Send, None = DumpStep.None,
        AwaitWalk = DumpStep.AwaitWalk, Done = DumpStep.Ended(DumpEnd.Done), Timeout = DumpStep.Ended(DumpEnd.Timeout);
    private const long Interval = 1_000_000_000;
    private const byte Inet6 = NetlinkConstants.AF_INET6, SynRecv = TcpState.SynRecv, FinWait2 = TcpState.FinWait2, TimeWait = TcpState.TimeWait;

    [Fact]
    public void Lookups_that_find_everything_the_kernel_counts_end_the_namespace_without_a_walk()
    {
        var (context, dump) = New();
        FirstWalk(dump, (Listen, 11), (Established, 12));

        var sent = Poll(dump, 2, Count(2, 0));
        Assert.Equal(Forward, dump.OnDatagram(LookupFound(sent[0].Sequence, 11)));
        Assert.Equal(Forward.Then(Done), dump.OnDatagram(LookupFound(sent[1].Sequence, 12, Established)));
        Assert.Equal(0, Walks(context));
    }

    [Theory]
    [InlineData(NetlinkConstants.AF_INET)]
    [InlineData(NetlinkConstants.AF_INET6)]
    public void A_socket_the_kernel_counts_and_no_lookup_found_makes_the_namespace_ask_for_a_full_walk(byte family)
    {
        var (context, dump) = New();
        FirstWalk(dump, (Established, 12));

        var kernel = family == Inet6 ? Count(1, 1) : Count(2, 0); // one new connection since the last walk
        var sent = Poll(dump, 2, kernel);
        Assert.Equal(Forward.Then(AwaitWalk), dump.OnDatagram(LookupFound(sent[0].Sequence, 12, Established)));
        Assert.Equal((DumpState.AwaitingWalk, 1), (dump.State, dump.UnknownSockets));

        Assert.Equal(Send, dump.GrantWalk());
        var walk = Assert.Single(Sent(context));
        Assert.Equal((true, TcpStates.Default), (walk.Dump, walk.States));
        Assert.Equal(Forward.Then(Done), dump.OnDatagram(SocketsThenDone(walk.Sequence, 12, 13)));
        Assert.Equal(1, context.Counts.Walks[(int)WalkReason.Unknown]);
        Assert.Equal(2, dump.Known!.ConnectionCount); // the new one is looked up from now on
    }

    [Fact]
    public void More_IPv4_sockets_found_than_counted_hide_no_IPv6_one()
    {
        var (_, dump) = New();
        FirstWalk(dump, (Established, 12), (Established, 13));

        // 13 is IPv4 and was counted before a close: the counters say 1 IPv4 + 1 IPv6, the lookups found 2 IPv4.
        var sent = Poll(dump, 2, Count(1, 1));
        dump.OnDatagram(LookupFound(sent[0].Sequence, 12, Established));
        Assert.Equal(Forward.Then(AwaitWalk), dump.OnDatagram(LookupFound(sent[1].Sequence, 13, Established)));
    }

    [Theory]
    [InlineData(TcpState.TimeWait, 0)]
    [InlineData(TcpState.FinWait2, 3)] // a FIN-WAIT-2 minisocket: TIME-WAIT timer, not counted by the kernel
    [InlineData(TcpState.SynRecv, 0)]  // a request socket
    public void A_socket_the_kernel_does_not_count_is_not_counted_as_found(byte state, byte timer)
    {
        var (context, dump) = New();
        FirstWalk(dump, (Established, 12), (Established, 13));

        // The kernel counts one socket (12); 13 is now in a state it does not count, and one unknown socket exists.
        var sent = Poll(dump, 2, Count(2, 0));
        dump.OnDatagram(LookupFound(sent[0].Sequence, 12, Established));
        Assert.Equal(Forward.Then(AwaitWalk), dump.OnDatagram(LookupFound(sent[1].Sequence, 13, state, timer: timer)));
        Assert.Equal(1, dump.UnknownSockets);
        Assert.Equal(0, Walks(context));
    }

    [Fact]
    public void A_namespace_holding_only_TIME_WAIT_sockets_does_not_walk_every_poll()
    {
        var (context, dump) = New();
        FirstWalk(dump, (TimeWait, 12), (TimeWait, 13));
        for (long poll = 2; poll < 10; poll++)
        {
            var sent = Poll(dump, poll, Count(0, 0)); // TIME-WAIT is "tw" in sockstat, not "inuse"
            dump.OnDatagram(LookupFound(sent[0].Sequence, 12, TimeWait));
            Assert.Equal(Forward.Then(Done), dump.OnDatagram(LookupFound(sent[1].Sequence, 13, TimeWait)));
        }
        Assert.Equal(0, Walks(context));
    }

    [Fact]
    public void A_listener_found_by_lookup_and_again_by_the_LISTEN_walk_is_counted_once()
    {
        var (context, dump) = New();
        FirstWalk(dump, (Listen, 11), (Listen, 12), (Established, 13));

        // 11 was replaced by 21 on the same port: the kernel counts 12, 21, 13.
        var sent = Poll(dump, 2, Count(3, 0));
        dump.OnDatagram(Error(sent[0].Sequence, 2 /*ENOENT*/));
        dump.OnDatagram(LookupFound(sent[1].Sequence, 12));
        Assert.Equal(Forward.Then(Send), dump.OnDatagram(LookupFound(sent[2].Sequence, 13, Established)));
        var listenWalk = Assert.Single(Sent(context));
        Assert.Equal(Forward.Then(Done), dump.OnDatagram(Walk(listenWalk.Sequence, true, (Listen, 12), (Listen, 21))));
        Assert.Equal(0, context.Counts.Walks[(int)WalkReason.Unknown]);
    }

    [Fact]
    public void A_listener_found_twice_does_not_hide_an_unknown_connection()
    {
        var (_, dump) = New();
        FirstWalk(dump, (Listen, 11), (Listen, 12), (Established, 13));

        // As above, plus a new connection 14: the kernel counts 12, 21, 13, 14.
        var sent = Poll(dump, 2, Count(4, 0));
        dump.OnDatagram(Error(sent[0].Sequence, 2));
        dump.OnDatagram(LookupFound(sent[1].Sequence, 12));
        dump.OnDatagram(LookupFound(sent[2].Sequence, 13, Established));
        var listenWalk = Assert.Single(Sent(dump.Context));
        Assert.Equal(Forward.Then(AwaitWalk), dump.OnDatagram(Walk(listenWalk.Sequence, true, (Listen, 12), (Listen, 21))));
        Assert.Equal(1, dump.UnknownSockets);
    }

    [Fact]
    public void An_own_table_namespace_with_uncounted_sockets_walks_its_listeners_in_the_same_poll()
    {
        var (context, dump) = New(ehash: 1024);
        FirstWalk(dump, (Listen, 11), (Established, 12));

        // A new listener 31: its established dump and listener lookup find 12 and 11, the kernel counts three.
        var sent = Poll(dump, 2, Count(3, 0));
        Assert.Equal(Forward, dump.OnDatagram(Walk(sent[0].Sequence, true, (Established, 12))));
        Assert.Equal(Forward.Then(Send), dump.OnDatagram(LookupFound(sent[1].Sequence, 11)));
        var listenWalk = Assert.Single(Sent(context));
        Assert.Equal((true, TcpStates.Listen), (listenWalk.Dump, listenWalk.States));
        Assert.Equal(1, context.Counts.Walks[(int)WalkReason.UnknownListeners]);

        // The walk finds both listeners; whatever the counters say now, the namespace is done (never a loop).
        Assert.Equal(Forward.Then(Done), dump.OnDatagram(ListenersThenDone(listenWalk.Sequence, 11, 31)));
        Assert.Equal(2, dump.Known!.ListenerCount);
    }

    [Fact]
    public void Without_counters_a_namespace_walks_only_on_its_interval()
    {
        var (context, dump) = New();
        FirstWalk(dump, (Established, 12));
        var sent = Poll(dump, 2, counters: null);
        Assert.Equal(Forward.Then(Done), dump.OnDatagram(LookupFound(sent[0].Sequence, 12, Established)));

        sent = Poll(dump, 1 + Interval * 2, counters: null); // the next interval window
        Assert.Equal(Forward.Then(AwaitWalk), dump.OnDatagram(LookupFound(sent[0].Sequence, 12, Established)));
        Assert.Equal(Send, dump.GrantWalk());
        Assert.Equal(1, context.Counts.Walks[(int)WalkReason.Interval]);
    }

    [Fact]
    public void A_deferred_walk_ends_the_namespace_done_and_counts_as_deferred_when_it_comes()
    {
        var (context, dump) = New();
        FirstWalk(dump, (Established, 12));

        var sent = Poll(dump, 2, Count(2, 0));
        dump.OnDatagram(LookupFound(sent[0].Sequence, 12, Established));
        Assert.Equal(Done, dump.DeferWalk());
        Assert.Equal((DumpState.Idle, 1), (dump.State, context.Counts.WalksDeferred));

        sent = Poll(dump, 3, Count(2, 0)); // the unknown socket is still there: asked again, counted as deferred
        Assert.Equal(Forward.Then(AwaitWalk), dump.OnDatagram(LookupFound(sent[0].Sequence, 12, Established)));
        Assert.Equal(Send, dump.GrantWalk());
        Assert.Equal((1, 0), (context.Counts.Walks[(int)WalkReason.Deferred], context.Counts.Walks[(int)WalkReason.Unknown]));
    }

    [Fact]
    public void The_deadline_defers_a_waiting_walk_and_is_no_timeout()
    {
        var (context, dump) = New();
        FirstWalk(dump, (Established, 12));
        var sent = Poll(dump, 2, Count(2, 0));
        dump.OnDatagram(LookupFound(sent[0].Sequence, 12, Established));

        Assert.Equal(Done, dump.OnDeadline());
        Assert.Equal((0, 1), (context.Counts.Timeouts, context.Counts.WalksDeferred));
    }

    [Fact]
    public void A_first_walk_of_the_host_table_waits_for_the_lane_and_a_deferred_one_stays_due()
    {
        var (context, dump) = New();
        Assert.Equal(None, dump.Schedule());
        Assert.Equal(AwaitWalk, dump.Start(1, Count(5, 0))); // nothing known: nothing to look up first
        Assert.Equal(5, dump.UnknownSockets);
        Assert.Equal(long.MinValue, dump.LastWalk);
        Assert.Equal(Done, dump.DeferWalk());

        Assert.Equal(None, dump.Schedule());
        Assert.Equal(AwaitWalk, dump.Start(2, null));
        Assert.Equal(Send, dump.GrantWalk());
        Assert.Equal(1, context.Counts.Walks[(int)WalkReason.Deferred]);
    }

    [Fact]
    public void An_own_table_namespace_walks_at_once_without_asking()
    {
        var (context, dump) = New(ehash: 1024);
        Assert.Equal(None, dump.Schedule());
        Assert.Equal(Send, dump.Start(1, Count(5, 0)));
        Assert.Equal(1, context.Counts.Walks[(int)WalkReason.First]);
    }

    [Fact]
    public void Counters_are_only_used_when_every_state_they_count_is_wanted()
    {
        Assert.True(new DumpSettings(RequestMode.Compat, TcpStates.Default, 0, Interval).UsesTcpCounters);
        Assert.False(new DumpSettings(RequestMode.Compat, TcpStates.Default, 0, 0).UsesTcpCounters);
        Assert.False(new DumpSettings(RequestMode.Compat, 1u << TcpState.Established, 0, Interval).UsesTcpCounters);
    }

    // ---------------------------------------------------------------- helpers

    private static TcpSocketCount Count(int inet, int inet6) => new(inet, inet6);

    private static int Walks(DumpContext context)
    {
        int sum = 0;
        for (int i = 0; i < WalkCounts.Length; i++) sum += context.Counts.Walks[i];
        return sum;
    }

    private static (DumpContext Context, NamespaceDump Dump) New(int ehash = -262144)
    {
        var context = new DumpContext(new DumpSettings(RequestMode.Compat, TcpStates.Default, 0x12, Interval), new RequestBuffer(100), NullLogger.Instance);
        return (context, new NamespaceDump(7, "ns-test", context, ehash));
    }

    /// <summary>A poll between walks: schedules, starts with these counters, returns the lookups (and dump) sent.</summary>
    private static List<SentRequest> Poll(NamespaceDump dump, long pollStart, TcpSocketCount? counters)
    {
        Assert.Equal(None, dump.Schedule());
        Assert.Equal(Send, dump.Start(pollStart, counters));
        return Sent(dump.Context);
    }

    /// <summary>The first poll: a granted full walk that finds these sockets; counts are reset after it.</summary>
    private static void FirstWalk(NamespaceDump dump, params (byte State, ulong Cookie)[] sockets)
    {
        Assert.Equal(None, dump.Schedule());
        var step = dump.Start(1);
        if (step == AwaitWalk) step = dump.GrantWalk();
        Assert.Equal(Send, step);
        Assert.Equal(sockets.Length > 0 ? Forward.Then(Done) : Done, dump.OnDatagram(Walk(Sent(dump.Context)[0].Sequence, true, sockets)));
        dump.Context.TakeCounts();
    }
}
