using Xunit;
using XtcpEpoll.Netlink.Capture;
using XtcpEpoll.Netlink.Parsing;

namespace XtcpEpoll.Tests.Netlink;

/// <summary>
/// An nlmon capture carries every netlink protocol of the host. Only NETLINK_SOCK_DIAG datagrams are sock_diag
/// replies; rtnetlink's RTM_NEWADDR has the same message type (20) and would otherwise parse as a bogus socket.
/// </summary>
public class NetlinkProtocolFilterTests
{
    [Fact]
    public void The_captured_cooked_header_names_sock_diag_at_offset_14()
    {
        var header = File.ReadAllBytes(TestPaths.Fixture("6_6_44/netlink_cooked_header"));
        Assert.Equal(PcapReader.NetlinkCookedHeaderSize, header.Length);
        Assert.Equal(NetlinkProtocols.SockDiag, PcapReader.CookedHeaderProtocol(header));
        Assert.Equal("sock_diag", NetlinkProtocols.Name(PcapReader.CookedHeaderProtocol(header)));
        Assert.Equal("route", NetlinkProtocols.Name(NetlinkProtocols.Route));
        Assert.Equal("protocol 99", NetlinkProtocols.Name(99));
    }

    /// <summary>
    /// xtcp2's own 6.6 BBR capture was taken on an nlmon device while `ss` resolved addresses: 16 of its 49
    /// records are rtnetlink (protocol 0), and 3 of their RTM_NEWADDR messages are 88 bytes long, enough to
    /// pass for inet_diag replies (xtcp2's count of 912 "sockets" for this file included them).
    /// </summary>
    [Fact]
    public void A_real_nlmon_capture_yields_only_its_sock_diag_datagrams()
    {
        var path = TestPaths.Fixture("6_6_44/tcp_100_sockets_bbr.pcap");
        var records = NlmonPcapBuilder.Records(path);
        var route = records.Where(r => r.Protocol == NetlinkProtocols.Route).Select(r => r.Datagram).ToList();
        var sockDiag = records.Where(r => r.Protocol == NetlinkProtocols.SockDiag).Select(r => r.Datagram).ToList();
        Assert.Equal((16, 33, 49), (route.Count, sockDiag.Count, records.Count));
        var bogus = FixtureSet.ParseAll(route);
        Assert.Equal(3, bogus.Count);
        Assert.All(bogus, b => Assert.Equal((2, 24, 512), ((int)b.Family, (int)b.State, (int)b.SourcePort))); // 10.x/24 on ifindex 2

        var tally = new CaptureTally();
        var taken = CaptureFile.ReadDatagrams(path, tally).ToList();
        Assert.Equal(sockDiag.Count, taken.Count);
        Assert.All(sockDiag.Zip(taken), pair => Assert.Equal(pair.First, pair.Second));
        Assert.Equal(909, FixtureSet.ParseAll(taken).Count);
        Assert.Equal("33 sock_diag datagrams, skipped 16 of other netlink protocols (route 16)", tally.ToString());
    }

    /// <summary>
    /// A capture built from real datagrams: the 15-socket dump of ss_tcp_info_a_4.pcap with the rtnetlink
    /// datagrams of the BBR capture (RTM_NEWADDR, type 20) between its records, and a generic-netlink reply.
    /// </summary>
    [Fact]
    public void Only_sock_diag_datagrams_of_a_mixed_capture_become_sockets()
    {
        var sockDiag = FixtureSet.Datagrams("6_6_44/ss_tcp_info_a_4.pcap");
        var route = NlmonPcapBuilder.Records(TestPaths.Fixture("6_6_44/tcp_100_sockets_bbr.pcap"))
            .Where(r => r.Protocol == NetlinkProtocols.Route).Select(r => r.Datagram).ToList();
        Assert.NotEmpty(FixtureSet.ParseAll(route)); // without the protocol, they would become sockets

        var pcap = new NlmonPcapBuilder();
        for (int i = 0; i < Math.Max(sockDiag.Count, route.Count); i++)
        {
            if (i < route.Count) pcap.Datagram(NetlinkProtocols.Route, route[i]);
            if (i < sockDiag.Count) pcap.Datagram(NetlinkProtocols.SockDiag, sockDiag[i]);
        }
        pcap.Datagram(16, NlmonPcapBuilder.GenericNetlinkReply(9));
        var path = Path.Combine(Path.GetTempPath(), $"xt-netlink-mixed-{Guid.NewGuid():N}.pcap");
        try
        {
            File.WriteAllBytes(path, pcap.ToArray());
            var tally = new CaptureTally();
            var taken = CaptureFile.ReadDatagrams(path, tally).ToList();

            Assert.Equal(sockDiag.Count, taken.Count);
            Assert.All(sockDiag.Zip(taken), pair => Assert.Equal(pair.First, pair.Second));
            var sockets = FixtureSet.ParseAll(taken);
            Assert.Equal(15, sockets.Count);
            Assert.Equal(sockets.Select(s => s.Inode).Order(), FixtureSet.ParseAll(sockDiag).Select(s => s.Inode).Order());
            Assert.Equal(new Dictionary<ushort, long> { [0] = route.Count, [16] = 1 }, tally.SkippedByProtocol);
            Assert.Equal($"{sockDiag.Count} sock_diag datagrams, skipped {route.Count + 1} of other netlink protocols (route {route.Count}, generic 1)",
                tally.ToString());
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>Every other shipped pcap is sock_diag only (the two 6.6 captures above with rtnetlink aside).</summary>
    [Fact]
    public void The_tally_counts_every_record_of_every_shipped_pcap()
    {
        foreach (var (file, _) in FixtureSet.ReadmeTable())
        {
            var records = NlmonPcapBuilder.Records(TestPaths.Fixture(file));
            var tally = new CaptureTally();
            int taken = CaptureFile.ReadDatagrams(TestPaths.Fixture(file), tally).Count();
            Assert.Equal(records.Count(r => r.Protocol == NetlinkProtocols.SockDiag), taken);
            Assert.Equal(taken, tally.SockDiagDatagrams);
            Assert.Equal(records.Count, tally.SockDiagDatagrams + tally.SkippedDatagrams);
        }
    }

    [Fact]
    public void A_record_too_short_for_the_cooked_header_is_counted_not_returned()
    {
        var bytes = new NlmonPcapBuilder().Datagram(NetlinkProtocols.SockDiag, NlmonPcapBuilder.GenericNetlinkReply(1)).ToArray();
        // Append a 10-byte record (no room for the 16-byte cooked header).
        var cut = new byte[PcapReader.RecordHeaderSize + 10];
        BitConverter.GetBytes(10u).CopyTo(cut, 8);
        BitConverter.GetBytes(10u).CopyTo(cut, 12);
        var tally = new CaptureTally();
        var taken = PcapReader.ReadDatagrams(new MemoryStream([.. bytes, .. cut]), "cut", tally).ToList();
        Assert.Single(taken);
        Assert.Equal((1L, 1L, 0L), (tally.SockDiagDatagrams, tally.ShortRecords, tally.SkippedDatagrams));
        Assert.EndsWith(", 1 pcap records too short for a netlink header", tally.ToString());
    }
}
