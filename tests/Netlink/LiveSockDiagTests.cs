using Tmds.Linux;
using Xunit;
using XtcpEpoll.Netlink.Native;
using XtcpEpoll.Netlink.Parsing;
using XtcpEpoll.Netlink.Requests;
using static Tmds.Linux.LibC;

namespace XtcpEpoll.Tests.Netlink;

/// <summary>
/// Against the real kernel: a fresh network namespace holds IPv4 and IPv6 listeners and established
/// loopback connections; a non-blocking sock_diag socket opened inside it (setns on a dedicated thread)
/// must dump exactly those sockets, with v2 requests per family and with one compat request.
/// </summary>
public sealed unsafe class LiveSockDiagTests
{
    private const int ConnectionsPerFamily = 2;

    [Fact]
    public void DumpsExactlyTheNamespaceSocketsWithV2AndCompat()
    {
        // Warm the P/Invoke stubs in our own namespace first, so the foreign-namespace window runs
        // already-compiled code only.
        var warm = NetlinkSocket.OpenSockDiag(out int warmErrno);
        Assert.True(warm != null, $"sock_diag socket: errno {warmErrno}");
        warm.Dispose();
        string ownNamespace = NetworkNamespace.CurrentNamespace();

        using var ns = new NetworkNamespace();
        using var sockets = new LoopbackSockets();
        int insideErrno = 0;
        var fd = ns.RunInside(() =>
        {
            sockets.AddListenerWithConnections(NetlinkConstants.AF_INET, ConnectionsPerFamily);
            sockets.AddListenerWithConnections(NetlinkConstants.AF_INET6, ConnectionsPerFamily);
            return NetlinkSocket.OpenSockDiag(out insideErrno);
        });
        Assert.True(fd != null, $"OpenSockDiag inside {ns.Name}: errno {insideErrno}");
        Assert.Equal(ownNamespace, NetworkNamespace.CurrentNamespace());
        try
        {
            var request = new byte[DumpRequestBuilder.CompatSize];
            byte ext = AttributeSelection.Default.IdiagExt;

            int length = DumpRequestBuilder.WriteV2(request, NetlinkConstants.AF_INET, TcpStates.All, ext, 1);
            var v4 = Dump(fd, request.AsSpan(0, length), 1);
            length = DumpRequestBuilder.WriteV2(request, NetlinkConstants.AF_INET6, TcpStates.All, ext, 2);
            var v6 = Dump(fd, request.AsSpan(0, length), 2);
            length = DumpRequestBuilder.WriteCompat(request, TcpStates.All, ext, 3);
            var compat = Dump(fd, request.AsSpan(0, length), 3);

            var expected = ExpectedSockets(sockets);
            var v2 = v4.Concat(v6).ToList();
            Assert.All(v4, s => Assert.Equal(NetlinkConstants.AF_INET, s.Family));
            Assert.All(v6, s => Assert.Equal(NetlinkConstants.AF_INET6, s.Family));
            Assert.Equal(expected, v2.Select(Key).Order().ToList());
            Assert.Equal(expected, compat.Select(Key).Order().ToList());
            Assert.All(compat, s => Assert.Equal(NetlinkConstants.TCPDIAG_GETSOCK, s.MessageType));

            foreach (var socket in v2)
            {
                Assert.True(socket.Present.HasFlag(AttributeSet.Info | AttributeSet.Cong | AttributeSet.SkMemInfo), socket.Present.ToString());
                Assert.True(socket.TcpInfoLength >= TcpInfoLayout.SizeV4_19, $"tcp_info {socket.TcpInfoLength} bytes");
                if (Environment.OSVersion.Version >= new Version(6, 18))
                    Assert.Equal(TcpInfoLayout.SizeV6_18, socket.TcpInfoLength); // the AccECN tail is there
                Assert.Equal(socket.State, socket.Tcp.State);
                Assert.True(socket.CongestionNameLength > 0);
                Assert.True(socket.Inode != 0);
                if (socket.State == TcpState.Established)
                {
                    Assert.True(socket.Tcp.Rtt > 0, "rtt");
                    Assert.True(socket.Tcp.SndCwnd > 0, "cwnd");
                    Assert.True(socket.Tcp.BytesAcked > 0 || socket.Tcp.BytesReceived > 0, "a byte went each way");
                }
                var twin = Assert.Single(compat, c => Key(c) == Key(socket));
                Assert.Equal(socket.Present, twin.Present);
                Assert.Equal(socket.Inode, twin.Inode);
                Assert.Equal(socket.Cookie, twin.Cookie);
            }

            // A buffer smaller than the datagram: Receive reports the cut instead of overrunning.
            var small = new byte[100];
            length = DumpRequestBuilder.WriteV2(request, NetlinkConstants.AF_INET, TcpStates.All, ext, 4);
            Assert.Equal(length, NetlinkSocket.Send(fd, request.AsSpan(0, length)));
            var pfd = new pollfd { fd = fd.Number, events = POLLIN };
            Assert.Equal(1, poll(&pfd, 1, 5000));
            Assert.True(NetlinkSocket.Receive(fd, small) > small.Length, "plain Receive returns the full (cut) size");
            DrainUntilDone(fd);

            length = DumpRequestBuilder.WriteV2(request, NetlinkConstants.AF_INET, TcpStates.All, ext, 5);
            Assert.Equal(length, NetlinkSocket.Send(fd, request.AsSpan(0, length)));
            Assert.Equal(1, poll(&pfd, 1, 5000));
            Assert.Equal(small.Length, NetlinkSocket.Receive(fd, small, out bool truncated));
            Assert.True(truncated);
        }
        finally
        {
            fd.Dispose();
        }
    }

    private static string Key(ParsedSocket s) => $"{s.Family}/{s.State}/{s.SourcePort}/{s.DestinationPort}";

    private static List<string> ExpectedSockets(LoopbackSockets sockets)
    {
        var keys = new List<string>();
        foreach (var (family, port) in sockets.Listeners)
            keys.Add($"{family}/{TcpState.Listen}/{port}/0");
        foreach (var (family, client, server) in sockets.Connections)
        {
            keys.Add($"{family}/{TcpState.Established}/{client}/{server}");
            keys.Add($"{family}/{TcpState.Established}/{server}/{client}");
        }
        keys.Sort(StringComparer.Ordinal);
        return keys.Order().ToList();
    }

    /// <summary>Reads (and drops) replies until the dump in progress ends.</summary>
    private static void DrainUntilDone(OwnedFd fd)
    {
        var buffer = new byte[32768];
        while (true)
        {
            var pfd = new pollfd { fd = fd.Number, events = POLLIN };
            Assert.True(poll(&pfd, 1, 5000) > 0, "dump did not end");
            int received = NetlinkSocket.Receive(fd, buffer);
            if (received == -EAGAIN)
                continue;
            Assert.InRange(received, 1, buffer.Length);
            if (SockDiagReader.Summarize(buffer.AsSpan(0, received)).EndsDump)
                return;
        }
    }

    /// <summary>Sends one request and drains replies with poll() until NLMSG_DONE.</summary>
    private static List<ParsedSocket> Dump(OwnedFd fd, ReadOnlySpan<byte> request, uint sequence)
    {
        Assert.Equal(request.Length, NetlinkSocket.Send(fd, request));
        var buffer = new byte[32768];
        var result = new List<ParsedSocket>();
        var errors = new ParseErrorCounters();
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            var pfd = new pollfd { fd = fd.Number, events = POLLIN };
            int ready = poll(&pfd, 1, (int)Math.Max(1, (deadline - DateTime.UtcNow).TotalMilliseconds));
            Assert.True(ready > 0, $"no reply before the deadline (poll {ready}, errno {errno})");
            int received = NetlinkSocket.Receive(fd, buffer);
            if (received == -EAGAIN)
                continue;
            Assert.True(received > 0 && received <= buffer.Length, $"recv {received}");
            var reader = new SockDiagReader(buffer.AsSpan(0, received), errors);
            var socket = default(ParsedSocket);
            SockDiagItem item;
            while ((item = reader.Next(ref socket)) != SockDiagItem.End)
            {
                if (item == SockDiagItem.Socket)
                {
                    Assert.Equal(sequence, socket.Sequence);
                    result.Add(socket);
                }
                Assert.True(item != SockDiagItem.Error, $"dump failed: errno {reader.ErrorNumber}");
                if (item == SockDiagItem.Done)
                {
                    Assert.Equal(0, errors.Total);
                    Assert.False(reader.DumpInterrupted);
                    return result;
                }
            }
        }
    }
}
