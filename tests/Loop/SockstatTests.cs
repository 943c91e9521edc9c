using System.Net;
using System.Net.Sockets;
using System.Text;
using XtcpEpoll.Loop.Namespaces;
using XtcpEpoll.Netlink.Parsing;
using Xunit;

namespace XtcpEpoll.Tests.Loop;

/// <summary>
/// The per-namespace TCP counters (issue 19): parsing sockstat text (no root), and the counters of a real
/// namespace read through fds its opener made inside it, from a thread that is elsewhere.
/// </summary>
public sealed class SockstatTests
{
    private const string Sockstat = "sockets: used 140\nTCP: inuse 11 orphan 0 tw 1 alloc 13 mem 2\nUDP: inuse 0 mem 0\nUDPLITE: inuse 0\nRAW: inuse 0\nFRAG: inuse 0 memory 0\n";
    private const string Sockstat6 = "TCP6: inuse 4\nUDP6: inuse 1\nUDPLITE6: inuse 0\nRAW6: inuse 0\nFRAG6: inuse 0 memory 0\n";

    [Fact]
    public void Both_files_give_the_namespaces_hashed_TCP_sockets_by_family()
    {
        Assert.True(SockstatParser.TryParse(Encoding.ASCII.GetBytes(Sockstat), Encoding.ASCII.GetBytes(Sockstat6), out var count));
        Assert.Equal((11, 4), (count.Inet, count.Inet6));
    }

    [Theory]
    [InlineData("")]
    [InlineData("sockets: used 1\n")]                       // no TCP line (not sockstat)
    [InlineData("TCP: inuse x orphan 0\n")]                  // not a number
    [InlineData("TCP: inuse 12x orphan 0\n")]
    [InlineData("TCP: inuse 99999999999 orphan 0\n")]        // beyond int
    [InlineData("TCP: inuse \n")]
    [InlineData("TCP6: inuse 3\n")]                          // the other family's line
    public void Text_without_a_well_formed_TCP_line_does_not_parse(string sockstat)
    {
        Assert.False(SockstatParser.TryParse(Encoding.ASCII.GetBytes(sockstat), Encoding.ASCII.GetBytes(Sockstat6), out _));
    }

    [Fact]
    public void A_kernel_without_IPv6_has_no_sockstat6_and_counts_no_IPv6_socket()
    {
        var sockstat = Path.GetTempFileName();
        File.WriteAllText(sockstat, Sockstat);
        try
        {
            using var counters = TcpCounterFiles.Open(sockstat, "/nonexistent/sockstat6", out int errno);
            Assert.NotNull(counters);
            Assert.Equal(0, errno);
            Assert.Equal(CounterReadResult.Ok, counters.Read(out var count));
            Assert.Equal((11, 0), (count.Inet, count.Inet6));
            Assert.Null(TcpCounterFiles.Open("/nonexistent/sockstat", "/nonexistent/sockstat6", out errno));
            Assert.NotEqual(0, errno);
        }
        finally
        {
            File.Delete(sockstat);
        }
    }

    [Fact]
    public void A_line_cut_at_the_end_of_the_buffer_still_parses_its_number()
    {
        Assert.Equal(7, SockstatParser.InUse("TCP: inuse 7"u8, SockstatParser.Inet));
    }

    [Fact]
    public void Counters_opened_inside_a_namespace_count_its_listeners_and_connections_but_not_TIME_WAIT()
    {
        using var farm = new TestNamespaceFarm("loop-sockstat");
        var ns = farm.Create(SocketKit.None);
        var counters = farm.RunInside(ns, () => TcpCounterFiles.OpenForCurrentThread(out _))!;
        using var owned = counters;
        Assert.Equal(CounterReadResult.Ok, counters.Read(out var empty));
        Assert.Equal((0, 0), (empty.Inet, empty.Inet6));

        // A listener and 5 loopback connections: 11 sockets (the kernel's own figure for this case).
        var sockets = farm.RunInside(ns, () =>
        {
            var list = new List<Socket>();
            var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            listener.Listen(16);
            list.Add(listener);
            for (int i = 0; i < 5; i++)
            {
                var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                client.Connect(listener.LocalEndPoint!);
                list.Add(client);
                list.Add(listener.Accept());
            }
            var v6 = new Socket(AddressFamily.InterNetworkV6, SocketType.Stream, ProtocolType.Tcp);
            v6.Bind(new IPEndPoint(IPAddress.IPv6Loopback, 0));
            v6.Listen(1);
            list.Add(v6);
            return list;
        });
        try
        {
            Assert.Equal(CounterReadResult.Ok, counters.Read(out var count)); // read from this thread, outside the namespace
            Assert.Equal((11, 1), (count.Inet, count.Inet6));

            // A graceful close from the client side: it lives on in TIME-WAIT, which the counters leave out.
            sockets[1].Shutdown(SocketShutdown.Both);
            sockets[2].Shutdown(SocketShutdown.Both);
            sockets[1].Close();
            sockets[2].Close();
            var deadline = DateTime.UtcNow.AddSeconds(10);
            do counters.Read(out count); while (count.Inet != 9 && DateTime.UtcNow < deadline && Thread.Yield());
            Assert.Equal(9, count.Inet);
        }
        finally
        {
            foreach (var s in sockets) s.Dispose();
        }
    }
}
