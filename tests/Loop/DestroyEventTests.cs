using System.Net;
using System.Net.Sockets;
using XtcpEpoll.Loop;
using XtcpEpoll.Netlink.Native;
using XtcpEpoll.Sinks.Records;
using Xunit;

namespace XtcpEpoll.Tests.Loop;

/// <summary>
/// Closed sockets as destroy-event records (record_origin 1), against real namespaces: every end of every
/// connection closed between two polls is recorded once with its final counters, whether or not a poll saw it.
/// </summary>
public sealed class DestroyEventTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    /// <summary>
    /// The kernel counts the SYN and the FIN in tcpi_bytes_acked / tcpi_bytes_received (measured on 6.18 with a C
    /// probe: 1,000 bytes sent, 500 received → client acked 1,002 received 501, server acked 501 received 1,001).
    /// A full socket is destroyed once both FINs are acked, so after a graceful close these are exact.
    /// </summary>
    private static (ulong Acked, ulong Received) ClientCounters(int sent, int received) => ((ulong)sent + 2, (ulong)received + 1);
    private static (ulong Acked, ulong Received) ServerCounters(int sent, int received) => ((ulong)sent + 1, (ulong)received + 1);

    [Fact]
    public void Every_end_of_a_thousand_short_connections_in_a_hundred_namespaces_is_recorded_once_with_its_final_counters()
    {
        using var farm = new TestNamespaceFarm("loop-destroy");
        var namespaces = farm.CreateMany(100, SocketKit.None);
        var listeners = namespaces.ToDictionary(ns => ns.Name, ns => farm.RunInside(ns, () => (V4: Listen(ns, IPAddress.Loopback), V6: Listen(ns, IPAddress.IPv6Loopback))));
        var options = CollectorHarness.OptionsFor(farm);
        options.WalkInterval = TimeSpan.FromHours(2);
        using var harness = new CollectorHarness(options);
        harness.Start();
        harness.WaitForPolls(1, Wait);

        // Between two polls: 10 connections per namespace (5 IPv4, 5 IPv6), each carrying a known number of
        // bytes both ways, then closed (client first): no poll ever sees them.
        var expected = new Dictionary<(string Netns, ushort Source, ushort Destination), (ulong Acked, ulong Received)>();
        foreach (var ns in namespaces)
        {
            var (v4, v6) = listeners[ns.Name];
            farm.RunInside(ns, () =>
            {
                for (int i = 0; i < 10; i++)
                {
                    int up = 1000 + i, down = 300 + 7 * i;
                    var (clientPort, serverPort) = ShortConnection(i % 2 == 0 ? v4 : v6, up, down);
                    expected[(ns.Name, clientPort, serverPort)] = ClientCounters(up, down);
                    expected[(ns.Name, serverPort, clientPort)] = ServerCounters(down, up);
                }
                return 0;
            });
        }
        var destroyed = harness.Sink.WaitForDestroyed(d => d.Count >= expected.Count, Wait);
        harness.PollOnce(Wait);

        destroyed = harness.Sink.Destroyed(); // nothing more came with the next poll
        Assert.Equal(2_000, destroyed.Count);
        Assert.Equal(destroyed.Count, destroyed.Select(r => r.Cookie).Distinct().Count()); // none twice
        var inodes = namespaces.ToDictionary(ns => ns.Name, ns => ns.Inode);
        long pollStamp = harness.Sink.Poll(0)[0].TimestampNs;
        foreach (var record in destroyed)
        {
            Assert.True(expected.Remove((record.Netns, record.SourcePort, record.DestinationPort), out var counters),
                $"unexpected destroy record {record.Netns} {record.SourcePort}->{record.DestinationPort}");
            Assert.Equal(counters, (record.BytesAcked, record.BytesReceived));
            Assert.Equal(inodes[record.Netns], record.NetnsInode);
            Assert.Equal(TcpState.Close, record.State);
            Assert.Equal(RecordOrigins.DestroyEvent, record.Origin);
            Assert.True(record.TimestampNs > pollStamp, "stamped with the time it was read, not a poll's");
        }
        Assert.Empty(expected); // both ends of every connection
        Assert.Equal([0u, 0b101u], SockDiagGroups(farm, namespaces[0]).Order()); // dump socket; event socket in groups 1 and 3
        Assert.DoesNotContain(harness.Sink.Poll(1), r => r.State != TcpState.Listen); // never in a snapshot
        lock (harness.Summaries)
        {
            Assert.Equal(2_000, harness.Summaries.Sum(s => s.Summary.DestroyEvents));
            Assert.Equal(0, harness.Summaries.Sum(s => s.Summary.DestroyEventsLost));
        }
    }

    [Fact]
    public void Without_destroy_events_no_second_socket_is_opened_and_nothing_is_recorded()
    {
        using var farm = new TestNamespaceFarm("loop-nodestroy");
        var ns = farm.Create(SocketKit.None);
        var listener = farm.RunInside(ns, () => Listen(ns, IPAddress.Loopback));
        var options = CollectorHarness.OptionsFor(farm);
        options.DestroyEvents = false;
        using var harness = new CollectorHarness(options);
        harness.Start();
        harness.WaitForPolls(1, Wait);
        farm.RunInside(ns, () => ShortConnection(listener, 10, 10));
        harness.PollOnce(Wait);

        Assert.Empty(harness.Sink.Destroyed());
        Assert.Equal([0u], SockDiagGroups(farm, ns)); // the dump socket only, in no group
    }

    /// <summary>A listener of <paramref name="ns"/> (call inside it); closed with the namespace.</summary>
    internal static Socket Listen(TestNamespace ns, IPAddress address, int backlog = 64)
    {
        var listener = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        ns.Sockets.Add(listener);
        listener.Bind(new IPEndPoint(address, 0));
        listener.Listen(backlog);
        return listener;
    }

    /// <summary>
    /// Connects to <paramref name="listener"/>, sends <paramref name="up"/> bytes and answers <paramref name="down"/>,
    /// then closes gracefully, client first (the server reads the FIN before it closes). Returns the ports.
    /// <para>
    /// The client sends its FIN with shutdown and closes only after reading the server's FIN. Closed outright, it
    /// is an orphan, and an orphan whose FIN is acked by a segment without the server's FIN becomes a FIN_WAIT2
    /// time-wait entry at once: the full socket ends (its destroy record is made) before the server's FIN
    /// arrives, one short in bytes_received. That happens when the server is slow to close (a loaded machine):
    /// issue 21's flaky-test hunt saw 335 for 336 once beside a CPU hog (design/FLAKY.md).
    /// </para>
    /// </summary>
    internal static (ushort Client, ushort Server) ShortConnection(Socket listener, int up, int down)
    {
        using var client = new Socket(listener.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        client.Connect(listener.LocalEndPoint!);
        using var server = listener.Accept();
        var ports = ((ushort)((IPEndPoint)client.LocalEndPoint!).Port, (ushort)((IPEndPoint)server.LocalEndPoint!).Port);
        Transfer(client, server, up);
        Transfer(server, client, down);
        client.Shutdown(SocketShutdown.Send);
        var rest = new byte[16];
        while (server.Receive(rest) > 0) { } // up to the client's FIN
        server.Close();
        while (client.Receive(rest) > 0) { } // up to the server's FIN
        client.Close();
        return ports;
    }

    internal static void Transfer(Socket from, Socket to, int bytes)
    {
        var data = new byte[bytes];
        for (int sent = 0; sent < bytes;) sent += from.Send(data, sent, bytes - sent, SocketFlags.None);
        for (int got = 0; got < bytes;) got += to.Receive(data, got, bytes - got, SocketFlags.None);
    }

    /// <summary>
    /// The multicast group masks of the user NETLINK_SOCK_DIAG sockets living in <paramref name="ns"/>, read from
    /// /proc/thread-self/net/netlink inside it (columns: sk Eth Pid Groups ...; Eth 4 = sock_diag; Pid 0 is the
    /// kernel's own socket of the namespace).
    /// </summary>
    internal static List<uint> SockDiagGroups(TestNamespaceFarm farm, TestNamespace ns) => farm.RunInside(ns, () =>
        File.ReadAllLines("/proc/thread-self/net/netlink").Skip(1)
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(columns => columns[1] == "4" && columns[2] != "0")
            .Select(columns => Convert.ToUInt32(columns[3], 16))
            .ToList());
}

/// <summary>A burst of closes in one namespace (10,000 sockets: run alone, the fd limit is 20,000 per process).</summary>
[Collection(QuietProcessCollection.Name)]
public sealed class DestroyEventBurstTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(90);

    /// <summary>
    /// 10,000 sockets of one namespace closed back to back: every end is either a record or counted lost
    /// (xtcp_destroy_events_lost_total, from the kernel's drop count), and a loss makes the namespace walk.
    /// </summary>
    [Fact]
    public void Ten_thousand_closes_at_once_are_each_recorded_or_counted_lost()
    {
        const int connections = 5_000;
        using var farm = new TestNamespaceFarm("loop-burst");
        var ns = farm.Create(SocketKit.None);
        var pairs = farm.RunInside(ns, () =>
        {
            var listener = DestroyEventTests.Listen(ns, IPAddress.Loopback, backlog: 4096);
            var list = new List<(Socket Client, Socket Server)>(connections);
            for (int i = 0; i < connections; i++)
            {
                var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                client.Connect(listener.LocalEndPoint!);
                list.Add((client, listener.Accept()));
            }
            return list;
        });
        var options = CollectorHarness.OptionsFor(farm);
        options.WalkInterval = TimeSpan.FromHours(2);
        using var harness = new CollectorHarness(options);
        try
        {
            harness.Start();
            harness.WaitForPolls(1, Wait);
            Assert.Equal(2 * connections + 1, harness.Sink.Poll(0).Count);

            foreach (var (client, server) in pairs) { client.Dispose(); server.Dispose(); } // 10,000 closes, as fast as they go
            // Polls report what was lost; records come as they are read. Poll until every end is accounted for.
            var deadline = DateTime.UtcNow + Wait;
            long lost = 0;
            while (harness.Sink.Destroyed().Count + lost < 2 * connections)
            {
                Assert.True(DateTime.UtcNow < deadline, $"{harness.Sink.Destroyed().Count} recorded + {lost} lost of {2 * connections}");
                harness.PollOnce(Wait);
                lock (harness.Summaries) lost = harness.Summaries.Sum(s => s.Summary.DestroyEventsLost);
            }
            harness.PollOnce(Wait);
            var destroyed = harness.Sink.Destroyed();
            Assert.Equal(destroyed.Count, destroyed.Select(r => r.Cookie).Distinct().Count());
            Assert.Equal(2 * connections, destroyed.Count + lost); // exactly: a record or a counted loss each
            output.WriteLine($"{destroyed.Count} destroy records, {lost} counted lost");
            if (lost > 0)
            {
                // The loss is heard while its poll or the one before runs; the namespace walks at the next poll
                // that starts after that: compat walk replies (18), not lookup answers (20).
                int first;
                lock (harness.Summaries) first = harness.Summaries.FindIndex(s => s.Summary.DestroyEventsLost > 0);
                Assert.Contains(harness.Sink.Poll(first).Concat(harness.Sink.Poll(first + 1)), r => r.MessageType == 18);
            }
        }
        finally
        {
            foreach (var (client, server) in pairs) { client.Dispose(); server.Dispose(); }
        }
    }
}
