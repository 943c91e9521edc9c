using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Xunit;
using XtcpEpoll.Netlink.Capture;
using XtcpEpoll.Netlink.Native;
using XtcpEpoll.Netlink.Parsing;
using XtcpEpoll.Netlink.Requests;

namespace XtcpEpoll.Tests.Netlink;

public class RequestBuilderTests
{
    public static IEnumerable<object[]> RequestFixtures() =>
    [
        ["6_6_44/netlink_sock_diag_request_bytes"], ["6_6_44/netlink_sock_diag_request_bytes_a"],
        ["6_6_44/netlink_sock_diag_request_bytes_example2"], ["6_6_44/netlink_sock_diag_request_bytes_example3"],
        ["6_6_44/netlink_sock_diag_request_single_packet_v4.pcap"], ["6_6_44/netlink_sock_diag_request_single_packet_v6.pcap"],
        ["6_10_3/netlink_sock_diag_request_single_packet.pcap"], ["5_4_281/netlink_sock_diag_request_single_packet_v4.pcap"],
        ["4_19_319/netlink_sock_diag_request_single_packet_v4.pcap"],
    ];

    /// <summary>Built from the fixture's own family/states/ext/seq, our request is byte-identical to it.</summary>
    [Theory]
    [MemberData(nameof(RequestFixtures))]
    public void V2RequestMatchesCapturedRequestBytes(string file)
    {
        var captured = Assert.Single(CaptureFile.ReadDatagrams(TestPaths.Fixture(file)));
        Assert.Equal(DumpRequestBuilder.V2Size, captured.Length);
        byte family = captured[16];
        byte ext = captured[18];
        uint states = BinaryPrimitives.ReadUInt32LittleEndian(captured.AsSpan(20));
        uint sequence = BinaryPrimitives.ReadUInt32LittleEndian(captured.AsSpan(8));
        var built = new byte[DumpRequestBuilder.V2Size];
        Assert.Equal(72, DumpRequestBuilder.WriteV2(built, family, states, ext, sequence));
        Assert.Equal(captured, built);
    }

    [Fact]
    public void V2RequestEqualsNamedFixtures()
    {
        var built = new byte[72];
        DumpRequestBuilder.WriteV2(built, NetlinkConstants.AF_INET, 1u << TcpState.Established, 0x7F, 123456);
        Assert.Equal(File.ReadAllBytes(TestPaths.Fixture("6_6_44/netlink_sock_diag_request_bytes")), built);
        DumpRequestBuilder.WriteV2(built, NetlinkConstants.AF_INET, TcpStates.All, 0x7F, 123456);
        Assert.Equal(File.ReadAllBytes(TestPaths.Fixture("6_6_44/netlink_sock_diag_request_bytes_a")), built);
    }

    [Fact]
    public void V6AndCompatLayouts()
    {
        var v6 = new byte[80];
        DumpRequestBuilder.WriteV2(v6, NetlinkConstants.AF_INET6, 0x400, 0xFE, 5);
        Assert.Equal(72u, BinaryPrimitives.ReadUInt32LittleEndian(v6));
        Assert.Equal(20, BinaryPrimitives.ReadUInt16LittleEndian(v6.AsSpan(4)));
        Assert.Equal(0x301, BinaryPrimitives.ReadUInt16LittleEndian(v6.AsSpan(6)));
        Assert.Equal((10, 6, 0xFE), (v6[16], v6[17], v6[18]));
        Assert.Equal(0x400u, BinaryPrimitives.ReadUInt32LittleEndian(v6.AsSpan(20)));
        DumpRequestBuilder.SetSequence(v6, 77);
        Assert.Equal(77u, BinaryPrimitives.ReadUInt32LittleEndian(v6.AsSpan(8)));

        var compat = new byte[76];
        Assert.Equal(76, DumpRequestBuilder.WriteCompat(compat, TcpStates.All, 0xFE, 9));
        Assert.Equal(76u, BinaryPrimitives.ReadUInt32LittleEndian(compat));
        Assert.Equal(18, BinaryPrimitives.ReadUInt16LittleEndian(compat.AsSpan(4)));
        Assert.Equal(0x301, BinaryPrimitives.ReadUInt16LittleEndian(compat.AsSpan(6)));
        Assert.Equal(9u, BinaryPrimitives.ReadUInt32LittleEndian(compat.AsSpan(8)));
        Assert.Equal(0, compat[16]);                    // family: both
        Assert.Equal(0xFE, compat[16 + 3]);             // idiag_ext
        Assert.Equal(TcpStates.All, BinaryPrimitives.ReadUInt32LittleEndian(compat.AsSpan(16 + 52)));

        Assert.Throws<ArgumentException>(() => DumpRequestBuilder.WriteV2(new byte[71], 2, 1, 0, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => DumpRequestBuilder.WriteV2(new byte[72], 1, 1, 0, 0));
        // The summary of our own request datagram reads its sequence back.
        Assert.Equal(77u, SockDiagReader.Summarize(v6.AsSpan(0, 72)).Sequence);
    }

    [Fact]
    public void StructLayoutsMatchWireOffsets()
    {
        Assert.Equal(NetlinkConstants.SockaddrNlSize, Marshal.SizeOf<SockaddrNl>());
        Assert.Equal(NetlinkConstants.NlMsgHdrSize, Marshal.SizeOf<NlMsgHdr>());
        Assert.Equal(NetlinkConstants.InetDiagSockIdSize, Marshal.SizeOf<InetDiagSockId>());
        Assert.Equal(NetlinkConstants.InetDiagReqV2Size, Marshal.SizeOf<InetDiagReqV2>());
        Assert.Equal(NetlinkConstants.InetDiagReqCompatSize, Marshal.SizeOf<InetDiagReqCompat>());
        Assert.Equal(NetlinkConstants.InetDiagMsgSize, Marshal.SizeOf<InetDiagMsg>());
        Assert.Equal(16, Marshal.SizeOf<TcpDctcpInfo>());
        Assert.Equal(20, Marshal.SizeOf<TcpBbrInfo>());
        Assert.Equal(WireOffsets.V2States, (int)Marshal.OffsetOf<InetDiagReqV2>(nameof(InetDiagReqV2.States)));
        Assert.Equal(WireOffsets.V2Id, (int)Marshal.OffsetOf<InetDiagReqV2>(nameof(InetDiagReqV2.Id)));
        Assert.Equal(WireOffsets.CompatStates, (int)Marshal.OffsetOf<InetDiagReqCompat>(nameof(InetDiagReqCompat.States)));
        Assert.Equal(WireOffsets.CompatDbs, (int)Marshal.OffsetOf<InetDiagReqCompat>(nameof(InetDiagReqCompat.Dbs)));
        Assert.Equal(WireOffsets.MsgExpires, (int)Marshal.OffsetOf<InetDiagMsg>(nameof(InetDiagMsg.Expires)));
        Assert.Equal(WireOffsets.MsgInode, (int)Marshal.OffsetOf<InetDiagMsg>(nameof(InetDiagMsg.Inode)));
        Assert.Equal(WireOffsets.IdInterface, (int)Marshal.OffsetOf<InetDiagSockId>(nameof(InetDiagSockId.Interface)));
    }
}

public class AttributeSelectionTests
{
    [Theory]
    [InlineData("default", 0xFE)]
    [InlineData(null, 0xFE)]
    [InlineData("all", 0xFF)]
    [InlineData("none", 0x00)]
    [InlineData("meminfo,skmem", 0x41)]
    [InlineData("bbr", 0x04)]
    [InlineData("dctcp", 0x04)]
    [InlineData("vegas", 0x04)]
    [InlineData("info, cong ,SKMEM", 0x4A)]
    [InlineData("classid", 0x20)]
    [InlineData("cgroup,sockopt,mark", 0x00)]
    public void IdiagExtFromNames(string? text, int ext)
    {
        Assert.True(AttributeSelection.TryParse(text, out var selection, out var error), error);
        Assert.Equal((byte)ext, selection.IdiagExt);
    }

    [Fact]
    public void DefaultIsAllButMemInfo()
    {
        Assert.False(AttributeSelection.Default.IsEnabled(AttributeSet.MemInfo));
        Assert.True(AttributeSelection.Default.IsEnabled(AttributeSet.Mark));
        Assert.Equal(AttributeSelection.All.Enabled & ~AttributeSet.MemInfo, AttributeSelection.Default.Enabled);
        Assert.Equal(14, AttributeSelection.Names.Length);
        Assert.True(AttributeSelection.TryParse("info,cong", out var s, out _));
        Assert.Equal("info,cong", s.ToString());
    }

    [Fact]
    public void UnknownNameIsRejectedWithAllowedNames()
    {
        Assert.False(AttributeSelection.TryParse("info,bogus", out _, out var error));
        Assert.Contains("'bogus'", error);
        Assert.Contains("skmem", error);
        Assert.Contains("sockopt", error);
    }
}

public class TcpStatesTests
{
    [Theory]
    [InlineData(null, 0x1FFF)]
    [InlineData("default", 0x1FFF)]
    [InlineData("all", 0x3FFF)]
    [InlineData("default,bound-inactive", 0x3FFF)]
    [InlineData("established", 0x2)]
    [InlineData("listen,established", 0x402)]
    [InlineData("syn-sent,syn-recv,fin-wait-1,fin-wait-2,time-wait,close,close-wait,last-ack,closing,new-syn-recv,bound-inactive", 0x3BFC)]
    public void NamesToMask(string? text, int mask)
    {
        Assert.True(TcpStates.TryParse(text, out var parsed, out var error), error);
        Assert.Equal((uint)mask, parsed);
    }

    [Fact]
    public void UnknownStateIsRejected()
    {
        Assert.False(TcpStates.TryParse("listen,estab", out _, out var error));
        Assert.Contains("'estab'", error);
        Assert.Contains("established", error);
        Assert.Equal("listen", TcpStates.Name(10));
    }
}
