using System.Net;
using System.Net.Sockets;
using XtcpEpoll.Loop;
using XtcpEpoll.Loop.Dumps;
using XtcpEpoll.Netlink.Native;
using XtcpEpoll.Netlink.Requests;
using Xunit;

namespace XtcpEpoll.Tests.Loop;

/// <summary>
/// Listeners between full walks (--walk-interval): against real namespaces (they share the host's TCP table,
/// so between walks every known socket is looked up), every live listener is still reported at every poll,
/// once: a closed one vanishes, a replacement on the same port shows in the same poll (LISTEN walk after a
/// missed lookup), SO_REUSEPORT members a lookup cannot reach are walked.
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
            // The walk answers in compat messages (18); lookups are SOCK_DIAG_BY_FAMILY exact replies (20):
            // between walks a namespace on the shared table looks up every known socket and walks nothing.
            Assert.All(polls[0], r => Assert.Equal(18, r.MessageType));
            Assert.All(polls[1], r => Assert.Equal(20, r.MessageType));
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
        // from then on its listeners are walked at every poll: the third poll's listeners come from a walk.
        Assert.All(polls[2], r => Assert.Equal(18, r.MessageType));
    }

    [Fact]
    public void With_walk_interval_zero_a_new_listener_shows_at_the_next_poll()
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
    public void Bound_but_inactive_sockets_are_reported_at_walks(double walkIntervalHours)
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
        var polls = RunPolls(farm, RequestMode.Compat, TimeSpan.FromHours(walkIntervalHours), 2, between: null, TcpStates.All);

        // Selected by the BOUND_INACTIVE bit; the kernel reports the socket's own state, CLOSE.
        Assert.Contains(polls[0], r => r.State == TcpState.Close && r.SourcePort == boundPort);
        Assert.Contains(polls[1], r => r.State == TcpState.Listen);
        // Between walks the bind hash (every bound socket of the host) is not walked and a bound-inactive socket
        // is in no table a lookup searches: the socket shows at the next walk; with interval 0 every poll walks.
        Assert.Equal(walkIntervalHours == 0, polls[1].Any(r => r.State == TcpState.Close && r.SourcePort == boundPort));
    }

    [Theory]
    [InlineData(RequestBuffer.MaxLookups)]          // every lookup rides one sendmsg; replies fit the receive buffer
    [InlineData(RequestBuffer.MaxLookups * 3 + 8)]  // four sendmsgs, each after the last one's answers
    public void Namespaces_with_many_listeners_report_every_one_at_every_poll(int listeners)
    {
        using var farm = new TestNamespaceFarm("loop-many");
        var ns = farm.CreateWithListeners(listeners);
        var options = CollectorHarness.OptionsFor(farm);
        options.WalkInterval = TimeSpan.FromHours(2);
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
            if (p > 0) Assert.All(poll, r => Assert.Equal(20, r.MessageType)); // looked up, never walked
        }
        lock (harness.Summaries) Assert.All(harness.Summaries, s => Assert.Equal((0, false), (s.Summary.DumpErrors, s.Summary.TimedOut)));
    }

    [Fact]
    public void With_only_listen_wanted_listeners_are_looked_up_between_walks()
    {
        using var farm = new TestNamespaceFarm("loop-listenonly");
        var ns = farm.Create(SocketKit.Full);
        var polls = RunPolls(farm, RequestMode.Compat, TimeSpan.FromHours(2), 2, between: null, TcpStates.Listen);

        var listeners = ns.Expected.Where(e => e.State == TcpState.Listen).ToHashSet();
        foreach (var poll in polls)
        {
            Assert.Equal(listeners, poll.Select(r => r.Key).ToHashSet());
            Assert.Equal(listeners.Count, poll.Count);
        }
        Assert.All(polls[0], r => Assert.Equal(18, r.MessageType)); // walked
        Assert.All(polls[1], r => Assert.Equal(20, r.MessageType)); // looked up: no dump needed for lookups to ride
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

    private static List<IReadOnlyList<SeenRecord>> RunPolls(TestNamespaceFarm farm, RequestMode mode, TimeSpan walkInterval, int count,
        Action<IReadOnlyList<SeenRecord>>? between, uint states = TcpStates.Default)
    {
        var options = CollectorHarness.OptionsFor(farm, mode);
        options.WalkInterval = walkInterval;
        options.States = states;
        return CollectorHarness.RunPolls(options, count, PollWait, between);
    }
}
