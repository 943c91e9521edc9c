using System.Net;
using System.Net.Sockets;
using XtcpEpoll.Loop;
using XtcpEpoll.Loop.Dumps;
using XtcpEpoll.Netlink.Native;
using XtcpEpoll.Netlink.Requests;
using Xunit;

namespace XtcpEpoll.Tests.Loop;

/// <summary>
/// Listening-table walks once per --shared-tables-refresh, exact lookups in between: against real namespaces,
/// every live listener is still reported at every poll, once.
/// </summary>
public sealed class ListenerTrackingTests
{
    private static readonly TimeSpan PollWait = TimeSpan.FromSeconds(30);

    [Theory]
    [InlineData(RequestMode.Compat)]
    [InlineData(RequestMode.V2)]
    public void Known_listeners_are_reported_at_every_poll_between_walks(RequestMode mode)
    {
        using var farm = new TestNamespaceFarm("loop-lookup");
        var namespaces = farm.CreateMany(3, SocketKit.Full);
        var polls = RunPolls(farm, mode, TimeSpan.FromHours(2), 3, between: null);

        foreach (var poll in polls)
            foreach (var ns in namespaces)
            {
                var mine = poll.Where(r => r.Netns == ns.Name).ToList();
                Assert.Equal(ns.Expected.Count, mine.Count); // no duplicates
                Assert.Equal(ns.Expected.ToHashSet(), mine.Select(r => r.Key).ToHashSet());
            }
        var firstListeners = Listeners(polls[0]);
        for (int i = 1; i < polls.Count; i++) Assert.Equal(firstListeners.Keys.ToHashSet(), Listeners(polls[i]).Keys.ToHashSet());
        if (mode == RequestMode.Compat)
        {
            // The walk answers in compat messages (18); lookups are SOCK_DIAG_BY_FAMILY exact replies (20).
            Assert.All(firstListeners.Values, r => Assert.Equal(18, r.MessageType));
            Assert.All(Listeners(polls[1]).Values, r => Assert.Equal(20, r.MessageType));
            Assert.All(polls[1].Where(r => r.State != TcpState.Listen), r => Assert.Equal(18, r.MessageType));
        }
    }

    [Fact]
    public void A_closed_listener_vanishes_and_its_replacement_on_the_same_port_shows_in_the_same_poll()
    {
        using var farm = new TestNamespaceFarm("loop-relisten");
        var replaced = farm.Create(SocketKit.Listener);
        var closed = farm.Create(SocketKit.Listener);
        ulong oldCookie = 0;
        var polls = RunPolls(farm, RequestMode.Compat, TimeSpan.FromHours(2), 2, between: first =>
        {
            oldCookie = first.Single(r => r.Netns == replaced.Name).Cookie;
            CloseListener(closed);
            var port = CloseListener(replaced);
            farm.RunInside(replaced, () => { replaced.Sockets.Add(Listen(IPAddress.Loopback, port, reusePort: false)); return 0; });
        });

        Assert.DoesNotContain(polls[1], r => r.Netns == closed.Name);
        var now = polls[1].Where(r => r.Netns == replaced.Name).ToList();
        var listener = Assert.Single(now);
        Assert.Equal(replaced.Expected[0].SourcePort, listener.SourcePort);
        Assert.NotEqual(oldCookie, listener.Cookie);
    }

    [Fact]
    public void Every_member_of_a_reuseport_group_is_reported_at_every_poll()
    {
        using var farm = new TestNamespaceFarm("loop-reuseport");
        var ns = farm.Create(SocketKit.None);
        farm.RunInside(ns, () =>
        {
            var first = Listen(IPAddress.Loopback, 0, reusePort: true);
            ns.Sockets.Add(first);
            ns.Sockets.Add(Listen(IPAddress.Loopback, ((IPEndPoint)first.LocalEndPoint!).Port, reusePort: true));
            return 0;
        });
        var polls = RunPolls(farm, RequestMode.Compat, TimeSpan.FromHours(2), 3, between: null);

        var group = Listeners(polls[0]).Keys.ToHashSet();
        Assert.Equal(2, group.Count);
        foreach (var poll in polls)
        {
            Assert.Equal(2, poll.Count);
            Assert.Equal(group, Listeners(poll).Keys.ToHashSet());
        }
        // A lookup reaches one member only (the kernel picks by hash); the miss makes the same poll walk, and
        // from then on the namespace is walked at every poll: the third poll's listeners come from a walk.
        Assert.All(polls[2], r => Assert.Equal(18, r.MessageType));
    }

    [Fact]
    public void With_refresh_zero_a_new_listener_shows_at_the_next_poll()
    {
        using var farm = new TestNamespaceFarm("loop-refresh0");
        var ns = farm.Create(SocketKit.Listener);
        var polls = RunPolls(farm, RequestMode.Compat, TimeSpan.Zero, 2, between: _ =>
            farm.RunInside(ns, () => { ns.Sockets.Add(Listen(IPAddress.IPv6Loopback, 0, reusePort: false)); return 0; }));

        Assert.Single(polls[0]);
        Assert.Equal(2, polls[1].Count);
        Assert.Contains(polls[1], r => r.Family == NetlinkConstants.AF_INET6 && r.State == TcpState.Listen);
        Assert.All(polls[1], r => Assert.Equal(18, r.MessageType)); // walked, never looked up
    }

    [Theory]
    [InlineData(2.0)]
    [InlineData(0.0)]
    public void Bound_but_inactive_sockets_are_reported_at_walks(double refreshHours)
    {
        using var farm = new TestNamespaceFarm("loop-bound");
        var ns = farm.Create(SocketKit.Listener);
        ushort boundPort = farm.RunInside(ns, () =>
        {
            var bound = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            ns.Sockets.Add(bound);
            bound.Bind(new IPEndPoint(IPAddress.Loopback, 0)); // bound, neither listening nor connected
            return (ushort)((IPEndPoint)bound.LocalEndPoint!).Port;
        });
        var polls = RunPolls(farm, RequestMode.Compat, TimeSpan.FromHours(refreshHours), 2, between: null, TcpStates.All);

        // Selected by the BOUND_INACTIVE bit; the kernel reports the socket's own state, CLOSE.
        Assert.Contains(polls[0], r => r.State == TcpState.Close && r.SourcePort == boundPort);
        Assert.Contains(polls[1], r => r.State == TcpState.Listen);
        // Between walks the bind hash (every bound socket of the host) is not walked: the socket shows at
        // the next walk; with refresh 0 every poll walks.
        Assert.Equal(refreshHours == 0, polls[1].Any(r => r.State == TcpState.Close && r.SourcePort == boundPort));
    }

    [Theory]
    [InlineData(ListenerTracker.MaxTracked, 20)]      // every lookup rides one sendmsg; replies fit the receive buffer
    [InlineData(ListenerTracker.MaxTracked + 8, 18)]  // too many to look up: walked at every poll
    public void Namespaces_with_many_listeners_report_every_one_at_every_poll(int listeners, int laterMessageType)
    {
        using var farm = new TestNamespaceFarm("loop-many");
        var ns = farm.CreateWithListeners(listeners);
        var options = CollectorHarness.OptionsFor(farm);
        options.SharedTablesRefresh = TimeSpan.FromHours(2);
        using var harness = new CollectorHarness(options);
        harness.Start();
        harness.WaitForPolls(1, PollWait);
        harness.PollOnce(PollWait);
        harness.PollOnce(PollWait);

        for (int p = 0; p < 3; p++)
        {
            var poll = harness.Sink.Poll(p);
            Assert.Equal(ns.Expected.ToHashSet(), poll.Select(r => r.Key).ToHashSet());
            Assert.Equal(listeners, poll.Count);
            if (p > 0) Assert.All(poll, r => Assert.Equal(laterMessageType, r.MessageType));
        }
        lock (harness.Summaries) Assert.All(harness.Summaries, s => Assert.Equal((0, false), (s.Summary.DumpErrors, s.Summary.TimedOut)));
    }

    [Fact]
    public void With_only_listen_wanted_every_poll_walks()
    {
        using var farm = new TestNamespaceFarm("loop-listenonly");
        var ns = farm.Create(SocketKit.Full);
        var polls = RunPolls(farm, RequestMode.Compat, TimeSpan.FromHours(2), 2, between: null, TcpStates.Listen);

        var listeners = ns.Expected.Where(e => e.State == TcpState.Listen).ToHashSet();
        foreach (var poll in polls)
        {
            Assert.Equal(listeners, poll.Select(r => r.Key).ToHashSet());
            Assert.Equal(listeners.Count, poll.Count);
            Assert.All(poll, r => Assert.Equal(18, r.MessageType)); // no dump for lookups to ride: walked
        }
    }

    [Fact]
    public void Walks_come_due_after_the_interval_and_namespaces_opened_together_are_staggered()
    {
        const long refresh = 1_000_000;
        var dueAt = new List<long>();
        for (ulong id = 1; id <= 64; id++)
        {
            var tracker = new ListenerTracker();
            Assert.Equal(ListenerAction.Walk, tracker.Plan(0, out var reason));
            Assert.Equal(WalkReason.Refresh, reason);
            tracker.BeginWalk();
            tracker.EndWalk(0, refresh, id, afterMissedLookups: false);
            long t = 1;
            while (tracker.Plan(t, out _) == ListenerAction.LookUp) t += refresh / 100;
            Assert.InRange(t, 1, refresh + refresh / 100);
            dueAt.Add(t / (refresh / 10));
            // After the first walk the period is the full interval.
            tracker.BeginWalk();
            tracker.EndWalk(t, refresh, id, afterMissedLookups: false);
            Assert.Equal(ListenerAction.LookUp, tracker.Plan(t + refresh - 1, out _));
            Assert.Equal(ListenerAction.Walk, tracker.Plan(t + refresh, out _));
        }
        Assert.True(dueAt.Distinct().Count() >= 8, "first walks spread over the interval");

        var aborted = new ListenerTracker();
        aborted.Plan(0, out _);
        aborted.BeginWalk();
        aborted.EndWalk(0, refresh, 1, afterMissedLookups: false);
        aborted.Plan(1, out _);
        aborted.BeginWalk();
        aborted.AbortWalk();
        Assert.Equal(ListenerAction.Walk, aborted.Plan(2, out _)); // a partial walk is never trusted
    }

    private static Dictionary<ulong, SeenRecord> Listeners(IReadOnlyList<SeenRecord> poll)
        => poll.Where(r => r.State == TcpState.Listen).ToDictionary(r => r.Cookie);

    private static ushort CloseListener(TestNamespace ns)
    {
        var listener = ns.Sockets.Single(s => s.SocketType == SocketType.Stream && s.IsBound && !s.Connected);
        ushort port = (ushort)((IPEndPoint)listener.LocalEndPoint!).Port;
        listener.Dispose();
        ns.Sockets.Remove(listener);
        return port;
    }

    private static Socket Listen(IPAddress address, int port, bool reusePort)
    {
        var s = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        if (reusePort) s.SetRawSocketOption(1 /*SOL_SOCKET*/, 15 /*SO_REUSEPORT*/, BitConverter.GetBytes(1));
        s.Bind(new IPEndPoint(address, port));
        s.Listen(8);
        return s;
    }

    private static List<IReadOnlyList<SeenRecord>> RunPolls(TestNamespaceFarm farm, RequestMode mode, TimeSpan refresh, int count,
        Action<IReadOnlyList<SeenRecord>>? between, uint states = TcpStates.Default)
    {
        var options = CollectorHarness.OptionsFor(farm, mode);
        options.SharedTablesRefresh = refresh;
        options.States = states;
        return CollectorHarness.RunPolls(options, count, PollWait, between);
    }
}
