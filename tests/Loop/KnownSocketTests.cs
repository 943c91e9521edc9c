using System.Net;
using System.Net.Sockets;
using XtcpEpoll.Loop;
using XtcpEpoll.Netlink.Native;
using Xunit;

namespace XtcpEpoll.Tests.Loop;

/// <summary>
/// Known sockets between walks, against real namespaces on the host's shared TCP table: a socket a walk found is
/// looked up at every poll (message type 20) with live counters, a new one shows at the next poll (its namespace's
/// TCP counters hold more sockets than the lookups found, so it walks: type 18), a closed one never again.
/// </summary>
public sealed class KnownSocketTests
{
    private const int Walked = 18, LookedUp = 20;
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [Fact]
    public void A_long_lived_connection_is_in_every_poll_after_the_walk_that_found_it_with_growing_counters()
    {
        using var farm = new TestNamespaceFarm("loop-known");
        var ns = farm.Create(SocketKit.Listener);
        var (client, server) = Pair(farm, ns, expected: true);
        var options = CollectorHarness.OptionsFor(farm);
        options.WalkInterval = TimeSpan.FromHours(2);
        using var harness = new CollectorHarness(options);
        harness.Start();
        harness.WaitForPolls(1, Wait);
        for (int poll = 1; poll <= 3; poll++)
        {
            DestroyEventTests.Transfer(client, server, 1000 * poll);
            harness.PollOnce(Wait);
        }

        var sender = ((IPEndPoint)client.LocalEndPoint!).Port;
        var acked = new List<ulong>();
        for (int p = 0; p <= 3; p++)
        {
            var records = harness.Sink.Poll(p);
            Assert.Equal(ns.Expected.ToHashSet(), records.Select(r => r.Key).ToHashSet());
            Assert.Equal(ns.Expected.Count, records.Count);
            Assert.All(records, r => Assert.Equal(p == 0 ? Walked : LookedUp, r.MessageType));
            acked.Add(records.Single(r => r.SourcePort == sender).BytesAcked);
        }
        Assert.Equal(acked.Order(), acked);
        Assert.Equal(acked.Count, acked.Distinct().Count()); // counters grow: live data at every poll, not a copy
        Assert.Equal(1000UL + 2000 + 3000, acked[3] - acked[0]);
    }

    [Theory]
    [InlineData(AddressFamily.InterNetwork)]
    [InlineData(AddressFamily.InterNetworkV6)]
    public void A_connection_opened_after_a_poll_is_in_the_next_poll_and_then_looked_up_at_every_poll(AddressFamily family)
    {
        using var farm = new TestNamespaceFarm("loop-newconn");
        var ns = farm.Create(SocketKit.Full);
        var options = CollectorHarness.OptionsFor(farm);
        options.WalkInterval = TimeSpan.FromHours(2); // no interval walk: only the namespace's TCP counters can tell
        using var harness = new CollectorHarness(options);
        harness.Start();
        harness.WaitForPolls(1, Wait);
        var (client, _) = Pair(farm, ns, expected: true, family);
        var fresh = (ushort)((IPEndPoint)client.LocalEndPoint!).Port;
        harness.PollOnce(Wait);
        harness.PollOnce(Wait);

        var next = harness.Sink.Poll(1);
        Assert.Equal(ns.Expected.ToHashSet(), next.Select(r => r.Key).ToHashSet());
        Assert.Equal(ns.Expected.Count, next.Count); // the walk's records of known sockets are deduplicated
        Assert.Equal(2, next.Count(r => r.SourcePort == fresh || r.DestinationPort == fresh)); // both ends
        var after = harness.Sink.Poll(2);
        Assert.Equal(ns.Expected.ToHashSet(), after.Select(r => r.Key).ToHashSet());
        Assert.All(after, r => Assert.Equal(LookedUp, r.MessageType)); // known now: no walk
    }

    [Fact]
    public void A_connection_closed_and_another_opened_between_two_polls_leaves_the_new_one_in_the_next_poll()
    {
        using var farm = new TestNamespaceFarm("loop-swapconn");
        var ns = farm.Create(SocketKit.Listener);
        var (oldClient, oldServer) = Pair(farm, ns, expected: false);
        var options = CollectorHarness.OptionsFor(farm);
        options.WalkInterval = TimeSpan.FromHours(2);
        using var harness = new CollectorHarness(options);
        harness.Start();
        harness.WaitForPolls(1, Wait);
        Assert.Equal(3, harness.Sink.Poll(0).Count);

        // The kernel's count stays at 3: two sockets gone, two new ones. The lookups find 1 of the 3.
        CloseAbortively(oldClient, oldServer);
        var (client, _) = Pair(farm, ns, expected: true);
        var fresh = (ushort)((IPEndPoint)client.LocalEndPoint!).Port;
        harness.PollOnce(Wait);

        var next = harness.Sink.Poll(1);
        Assert.Equal(ns.Expected.ToHashSet(), next.Select(r => r.Key).ToHashSet());
        Assert.Equal(2, next.Count(r => r.SourcePort == fresh || r.DestinationPort == fresh));
    }

    [Fact]
    public void With_walk_interval_zero_a_new_connection_is_in_the_next_poll_too()
    {
        using var farm = new TestNamespaceFarm("loop-newconn0");
        var ns = farm.Create(SocketKit.Listener);
        var options = CollectorHarness.OptionsFor(farm);
        options.WalkInterval = TimeSpan.Zero;
        using var harness = new CollectorHarness(options);
        harness.Start();
        harness.WaitForPolls(1, Wait);
        Pair(farm, ns, expected: true);
        harness.PollOnce(Wait);
        Assert.Equal(ns.Expected.ToHashSet(), harness.Sink.Poll(1).Select(r => r.Key).ToHashSet());
        Assert.All(harness.Sink.Poll(1), r => Assert.Equal(Walked, r.MessageType));
    }

    [Fact]
    public void A_connection_closed_between_the_walk_and_the_lookup_never_reappears_and_is_recorded_as_destroyed()
    {
        using var farm = new TestNamespaceFarm("loop-closed");
        var ns = farm.Create(SocketKit.Listener);
        var (client, server) = Pair(farm, ns, expected: false);
        ushort clientPort = (ushort)((IPEndPoint)client.LocalEndPoint!).Port;
        var options = CollectorHarness.OptionsFor(farm);
        options.WalkInterval = TimeSpan.FromHours(2);
        using var harness = new CollectorHarness(options);
        harness.Start();
        harness.WaitForPolls(1, Wait);
        Assert.Equal(3, harness.Sink.Poll(0).Count);

        // An abortive close (RST): nothing of the connection is left. (After a graceful close the active side
        // lives on in TIME_WAIT with its full socket's cookie, so its lookup finds it, as a walk would.)
        CloseAbortively(client, server);
        harness.PollOnce(Wait);
        harness.PollOnce(Wait);

        for (int p = 1; p <= 2; p++)
        {
            var records = harness.Sink.Poll(p);
            Assert.Equal(ns.Expected.ToHashSet(), records.Select(r => r.Key).ToHashSet()); // the listener only
            Assert.Single(records);
        }
        var ends = harness.Sink.WaitForDestroyed(d => d.Count >= 2, Wait);
        Assert.Equal(2, ends.Count);
        Assert.All(ends, r => Assert.True(r.SourcePort == clientPort || r.DestinationPort == clientPort));
    }

    [Fact]
    public void Namespaces_deleted_while_a_poll_looks_their_sockets_up_leave_the_poll_and_the_collector_sound()
    {
        using var farm = new TestNamespaceFarm("loop-delknown");
        var namespaces = farm.CreateMany(20, SocketKit.Full);
        var options = CollectorHarness.OptionsFor(farm);
        options.WalkInterval = TimeSpan.FromHours(2);
        using var harness = new CollectorHarness(options);
        harness.Start();
        harness.WaitForPolls(1, Wait);

        harness.Collector.TriggerPoll(); // a poll of lookups runs while half the namespaces go
        foreach (var ns in namespaces.Take(10)) farm.Delete(ns);
        harness.WaitForPolls(2, Wait);
        harness.WaitUntil(() => harness.Collector.NamespacesOpen == 10, Wait);
        harness.PollOnce(Wait);

        var kept = namespaces.Skip(10).ToList();
        var last = harness.Sink.Poll(2);
        Assert.Equal(kept.Sum(ns => ns.Expected.Count), last.Count);
        foreach (var ns in kept) Assert.Equal(ns.Expected.ToHashSet(), last.Where(r => r.Netns == ns.Name).Select(r => r.Key).ToHashSet());
        Assert.False(harness.Collector.Completion.IsFaulted);
        lock (harness.Summaries) Assert.All(harness.Summaries, s => Assert.Equal(0, s.Summary.DumpErrors));
        foreach (var ns in kept) Assert.Equal(2, DestroyEventTests.SockDiagGroups(farm, ns).Count); // dump + event socket
    }

    /// <summary>Closes a pair with an RST (SO_LINGER 0): nothing of the connection is left, not even TIME_WAIT.</summary>
    private static void CloseAbortively(Socket client, Socket server)
    {
        client.LingerState = new LingerOption(true, 0);
        client.Close();
        try { while (server.Receive(new byte[1]) > 0) { } } catch (SocketException) { } // the RST
        server.Close();
    }

    /// <summary>An established pair of <paramref name="family"/> opened in <paramref name="ns"/> now (closed with the namespace), optionally expected in polls.</summary>
    private static (Socket Client, Socket Server) Pair(TestNamespaceFarm farm, TestNamespace ns, bool expected,
        AddressFamily family = AddressFamily.InterNetwork) => farm.RunInside(ns, () =>
    {
        var listener = ns.Sockets.First(s => s.SocketType == SocketType.Stream && s.IsBound && !s.Connected && s.AddressFamily == family);
        var client = new Socket(family, SocketType.Stream, ProtocolType.Tcp);
        client.Connect(listener.LocalEndPoint!);
        var server = listener.Accept();
        ns.Sockets.Add(client);
        ns.Sockets.Add(server);
        if (expected)
        {
            byte af = family == AddressFamily.InterNetworkV6 ? NetlinkConstants.AF_INET6 : NetlinkConstants.AF_INET;
            ushort clientPort = (ushort)((IPEndPoint)client.LocalEndPoint!).Port, port = (ushort)((IPEndPoint)server.LocalEndPoint!).Port;
            ns.Expected.Add(new ExpectedSocket(af, TcpState.Established, clientPort, port));
            ns.Expected.Add(new ExpectedSocket(af, TcpState.Established, port, clientPort));
        }
        return (client, server);
    });
}
