using System.Buffers.Binary;
using System.Text;
using Xunit;
using XtcpEpoll.Netlink.Native;
using XtcpEpoll.Netlink.Parsing;

namespace XtcpEpoll.Tests.Netlink;

/// <summary>The attribute_* fixtures (one rtattr each) decode to the values their names state.</summary>
public class AttributeFixtureTests
{
    private static ParsedSocket Decode(string relative, ushort expectedType)
    {
        var bytes = File.ReadAllBytes(TestPaths.Fixture(relative));
        int length = BinaryPrimitives.ReadUInt16LittleEndian(bytes);
        int type = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(2));
        Assert.Equal(bytes.Length, length);
        Assert.Equal(expectedType, type);
        var socket = default(ParsedSocket);
        Assert.True(AttributeDecoder.TryDecode(type, bytes.AsSpan(4, length - 4), ref socket));
        Assert.Equal((AttributeSet)(1u << type), socket.Present);
        return socket;
    }

    [Theory]
    [InlineData("6_6_44/attribute_skmeminfo", 1000000u, 2626560u)]
    [InlineData("6_6_44/attribute_skmeminfo2", 1000000u, 1000000u)]
    [InlineData("4_19_319/attribute_skmeminfo_send2626560_forward2096", 1000000u, 2626560u)]
    [InlineData("5_4_281/attribute_skmeminfo_send2626560_forward4096", 1000000u, 2626560u)]
    [InlineData("6_10_3/attribute_skmeminfo", 1000000u, 1000000u)]
    public void SkMemInfoRcvBufAndSndBuf(string file, uint rcvBuf, uint sndBuf)
    {
        var s = Decode(file, InetDiagAttribute.SkMemInfo);
        Assert.Equal(rcvBuf, s.SkMemInfoRcvBuf);
        Assert.Equal(sndBuf, s.SkMemInfoSndBuf);
    }

    [Fact]
    public void SkMemInfoForwardAlloc()
    {
        Assert.Equal(4096u, Decode("5_4_281/attribute_skmeminfo_send2626560_forward4096", InetDiagAttribute.SkMemInfo).SkMemInfoFwdAlloc);
        // The 4.19 file is named "forward2096" but its bytes hold 00 10 00 00 = 4096 (a typo in the name).
        Assert.Equal(4096u, Decode("4_19_319/attribute_skmeminfo_send2626560_forward2096", InetDiagAttribute.SkMemInfo).SkMemInfoFwdAlloc);
        var s = Decode("6_10_3/attribute_skmeminfo_4305", InetDiagAttribute.SkMemInfo);
        Assert.Equal((1000000u, 1000000u, 0xD62u, 0x229Eu, 0x5F56u), (s.SkMemInfoRcvBuf, s.SkMemInfoSndBuf, s.SkMemInfoFwdAlloc, s.SkMemInfoWmemQueued, s.SkMemInfoDrops));
    }

    [Fact]
    public void MemInfo()
    {
        Assert.Equal(4096u, Decode("4_19_319/attribute_meminfo_f4096", InetDiagAttribute.MemInfo).MemInfoFmem);
        var s = Decode("6_10_3/attribute_meminfo_1506", InetDiagAttribute.MemInfo);
        Assert.Equal((1506u, 0u, 2590u, 2u), (s.MemInfoRmem, s.MemInfoWmem, s.MemInfoFmem, s.MemInfoTmem));
        s = Decode("6_10_3/attribute_meminfo_5908", InetDiagAttribute.MemInfo);
        Assert.Equal((0u, 5908u, 2284u, 4u), (s.MemInfoRmem, s.MemInfoWmem, s.MemInfoFmem, s.MemInfoTmem));
        Assert.Equal(0u, Decode("6_6_44/attribute_meminfo", InetDiagAttribute.MemInfo).MemInfoTmem);
    }

    [Theory]
    [InlineData("6_6_44/attribute_cong", "cubic", CongestionAlgorithm.Cubic)]
    [InlineData("6_10_3/attribute_cong_cubic", "cubic", CongestionAlgorithm.Cubic)]
    [InlineData("6_6_44/attribute_cong_bbr", "bbr", CongestionAlgorithm.Bbr1)]
    [InlineData("6_6_44/attribute_cong_dctcp", "dctcp", CongestionAlgorithm.Dctcp)]
    [InlineData("6_6_44/attribute_cong_vegas", "vegas", CongestionAlgorithm.Vegas)]
    public void Congestion(string file, string name, CongestionAlgorithm algorithm)
    {
        var s = Decode(file, InetDiagAttribute.Cong);
        Assert.Equal(name, Encoding.ASCII.GetString(s.CongestionNameBytes));
        Assert.Equal(algorithm, s.CongestionAlgorithm);
    }

    [Theory]
    [InlineData("bbr2", CongestionAlgorithm.Bbr2)]
    [InlineData("bbr3", CongestionAlgorithm.Bbr3)]
    [InlineData("prague", CongestionAlgorithm.Prague)]
    [InlineData("reno", CongestionAlgorithm.Unspecified)]
    public void CongestionNameMapping(string name, CongestionAlgorithm algorithm)
        => Assert.Equal(algorithm, CongestionNames.Map(Encoding.ASCII.GetBytes(name)));

    [Fact]
    public void BbrInfo()
    {
        var s = Decode("6_6_44/attribute_bbrinfo", InetDiagAttribute.BbrInfo);
        Assert.Equal((0x61A7F9E5u, 0u, 20u, 739u, 739u), (s.BbrInfoBwLo, s.BbrInfoBwHi, s.BbrInfoMinRtt, s.BbrInfoPacingGain, s.BbrInfoCwndGain));
        s = Decode("6_6_44/attribute_bbrinfo_another_example", InetDiagAttribute.BbrInfo);
        Assert.Equal((0x1B206AFFu, 0u, 70u, 739u, 739u), (s.BbrInfoBwLo, s.BbrInfoBwHi, s.BbrInfoMinRtt, s.BbrInfoPacingGain, s.BbrInfoCwndGain));
        s = Decode("6_10_3/attribute_bbrinfo_4305", InetDiagAttribute.BbrInfo);
        Assert.Equal((0xD0B0u, 0x69B1u, 320u, 512u), (s.BbrInfoBwLo, s.BbrInfoMinRtt, s.BbrInfoPacingGain, s.BbrInfoCwndGain));
        s = Decode("6_10_3/attribute_bbrinfo", InetDiagAttribute.BbrInfo);
        Assert.Equal((0x3AFFu, 0u, 30u, 320u, 512u), (s.BbrInfoBwLo, s.BbrInfoBwHi, s.BbrInfoMinRtt, s.BbrInfoPacingGain, s.BbrInfoCwndGain));
    }

    [Fact]
    public void DctcpAndVegasInfo()
    {
        foreach (var file in new[] { "6_6_44/attribute_dctcpinfo", "6_6_44/attribute_dctcpinfo_4033" })
        {
            var d = Decode(file, InetDiagAttribute.DctcpInfo);
            Assert.Equal((1, 0, 654u, 0u, 32768u), ((int)d.DctcpInfoEnabled, (int)d.DctcpInfoCeState, d.DctcpInfoAlpha, d.DctcpInfoAbEcn, d.DctcpInfoAbTot));
        }
        var v = Decode("6_6_44/attribute_vegasinfo", InetDiagAttribute.VegasInfo);
        Assert.Equal((1u, 0u, 211u, 0x7FFFFFFFu), (v.VegasInfoEnabled, v.VegasInfoRttCnt, v.VegasInfoRtt, v.VegasInfoMinRtt));
    }

    [Fact]
    public void SmallScalars()
    {
        Assert.Equal(0x1102UL, Decode("6_6_44/attribute_cgroup_id", InetDiagAttribute.CgroupId).CGroup);
        Assert.Equal(0xF69UL, Decode("6_10_3/attribute_cgroup_21", InetDiagAttribute.CgroupId).CGroup);
        Assert.Equal(0u, Decode("6_6_44/attribute_class_id", InetDiagAttribute.ClassId).ClassId);
        Assert.Equal(0x52, Decode("6_6_44/attribute_sockopt", InetDiagAttribute.SockOpt).SockOpt);
        Assert.Equal(0x52, Decode("6_10_3/attribute_sockopt_4305", InetDiagAttribute.SockOpt).SockOpt);
        Assert.Equal(0x52, Decode("6_10_3/attribute_sockopt_5200", InetDiagAttribute.SockOpt).SockOpt);
        Assert.Equal(0, Decode("6_6_44/attribute_shutdown", InetDiagAttribute.Shutdown).ShutdownState);
        Assert.Equal(2, Decode("6_6_44/attribute_tcclass", InetDiagAttribute.TClass).TrafficClass);
        Assert.Equal(0, Decode("6_6_44/attribute_tos", InetDiagAttribute.Tos).TypeOfService);
        Assert.Equal(2, Decode("6_6_44/attribute_tos2", InetDiagAttribute.Tos).TypeOfService);
    }

    [Theory]
    [InlineData("4_19_319/attribute_info", 224)]
    [InlineData("5_4_281/attribute_info", 232)]
    [InlineData("6_6_44/attribute_info", 240)]
    [InlineData("6_10_3/attribute_info", 248)]
    public void TcpInfoByKernelLength(string file, int payloadLength)
    {
        var s = Decode(file, InetDiagAttribute.Info);
        Assert.Equal(payloadLength, s.TcpInfoLength);
        Assert.Equal(1, s.Tcp.State);           // ESTABLISHED
        Assert.Equal(0x1F, s.Tcp.Options);
        Assert.Equal(9, s.Tcp.SendScale);
        Assert.Equal(9, s.Tcp.RcvScale);
        Assert.Equal(1, s.Tcp.DeliveryRateAppLimited);
        Assert.Equal(201000u, s.Tcp.Rto);
        Assert.Equal(536u, s.Tcp.RcvMss);
        // Fields beyond what this kernel sends stay zero.
        if (payloadLength < 248) Assert.Equal(0u, s.Tcp.TotalRtoTime);
        if (payloadLength < 240) Assert.Equal(0u, s.Tcp.Rehash);
        Assert.Equal(0u, s.Tcp.ReceivedCeBytes);
    }

    /// <summary>The second tcp_info of each kernel: two listeners (backlog in tcpi_sacked) and two connections.</summary>
    [Fact]
    public void SecondTcpInfoPerKernel()
    {
        var listen419 = Decode("4_19_319/attribute_info2", InetDiagAttribute.Info);
        Assert.Equal((224, (byte)10, 128u), (listen419.TcpInfoLength, listen419.Tcp.State, listen419.Tcp.Sacked));
        var listen66 = Decode("6_6_44/attribute_info2", InetDiagAttribute.Info);
        Assert.Equal((240, (byte)10, 4096u), (listen66.TcpInfoLength, listen66.Tcp.State, listen66.Tcp.Sacked));
        var estab54 = Decode("5_4_281/attribute_info2", InetDiagAttribute.Info);
        Assert.Equal((232, (byte)1, 201000u, 106000u), (estab54.TcpInfoLength, estab54.Tcp.State, estab54.Tcp.Rto, estab54.Tcp.Ato));
        // 6.10: the same connection as attribute_info, 378 ms later by tcpi_last_data_sent.
        var first610 = Decode("6_10_3/attribute_info", InetDiagAttribute.Info);
        var estab610 = Decode("6_10_3/attribute_info2", InetDiagAttribute.Info);
        Assert.Equal((248, (byte)1, 853u, 1231u), (estab610.TcpInfoLength, estab610.Tcp.State, first610.Tcp.LastDataSent, estab610.Tcp.LastDataSent));
    }

    [Fact]
    public void TcpInfoTailFieldsByLength()
    {
        // A 280-byte (6.18) tcp_info with a distinct value per u32 slot: every field lands at its offset.
        var payload = new byte[TcpInfoLayout.SizeV6_18];
        for (int i = 0; i < payload.Length; i += 4)
            BinaryPrimitives.WriteUInt32LittleEndian(payload.AsSpan(i), (uint)(i / 4 + 1));
        var info = default(TcpInfo);
        TcpInfoDecoder.Decode(payload, ref info);
        Assert.Equal(TcpInfoLayout.Rtt / 4 + 1, (int)info.Rtt);
        Assert.Equal(TcpInfoLayout.SndCwnd / 4 + 1, (int)info.SndCwnd);
        Assert.Equal((ulong)(TcpInfoLayout.BytesAcked / 4 + 1), info.BytesAcked & 0xFFFFFFFF);
        Assert.Equal(TcpInfoLayout.Rehash / 4 + 1, (int)info.Rehash);
        Assert.Equal(TcpInfoLayout.TotalRto / 4 + 1, (int)info.TotalRto);
        Assert.Equal(0, (int)info.TotalRtoRecoveries);
        Assert.Equal(TcpInfoLayout.TotalRtoTime / 4 + 1, (int)info.TotalRtoTime);
        Assert.Equal(TcpInfoLayout.ReceivedCe / 4 + 1, (int)info.ReceivedCe);
        Assert.Equal(TcpInfoLayout.ReceivedCeBytes / 4 + 1, (int)info.ReceivedCeBytes);
        Assert.Equal(TcpInfoLayout.AccecnFailMode / 4 + 1, (int)info.AccecnFailMode);

        var shortInfo = default(TcpInfo);
        TcpInfoDecoder.Decode(payload.AsSpan(0, TcpInfoLayout.SizeV5_4), ref shortInfo);
        Assert.Equal(TcpInfoLayout.SndWnd / 4 + 1, (int)shortInfo.SndWnd);
        Assert.Equal(0u, shortInfo.RcvWnd);
        Assert.Equal(0u, shortInfo.ReceivedCe);
    }

    [Theory]
    [InlineData("6_10_3/netlink_sock_diag_response_1000_sockets_sleep1ms_packet8_dport4262", 4262)]
    [InlineData("6_10_3/netlink_sock_diag_response_2000_sockets_netem_approx30mins_packet4_dport4355", 4355)]
    [InlineData("6_10_3/netlink_sock_diag_response_2000_sockets_netem_bbr_approx60mins_packet10_dport5865", 5865)]
    public void InfoFixtureMatchesSocketInItsCapture(string stem, int port)
    {
        var fromFile = Decode(stem + "_info", InetDiagAttribute.Info);
        var sockets = FixtureSet.ParseAll(FixtureSet.Datagrams(stem + ".pcap"));
        var matching = sockets.Where(s => s.DestinationPort == port || s.SourcePort == port).ToList();
        Assert.NotEmpty(matching);
        Assert.Contains(matching, s => s.TcpInfoLength == fromFile.TcpInfoLength && s.Tcp.Equals(fromFile.Tcp));
    }
}
