using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Xunit;
using XtcpEpoll.Netlink.Parsing;

namespace XtcpEpoll.Tests.Netlink;

/// <summary>
/// 6_6_44/ss_tcp_info_a_4 is the `ss -tieam`-style text of the very dump captured in
/// ss_tcp_info_a_4.pcap: every socket parsed from the pcap must agree with ss (matched by inode).
/// </summary>
public class SsOracleTests
{
    private sealed record SsSocket(string State, int LocalPort, int PeerPort, uint Inode, double? RttMs, uint? Cwnd,
        uint[] SkMem, string? Congestion, uint? Uid, byte Tos, uint ClassId, string Detail);

    private static List<SsSocket> ParseSsText(string path)
    {
        var lines = File.ReadAllLines(path);
        var result = new List<SsSocket>();
        for (int i = 1; i + 1 < lines.Length; i++)
        {
            if (lines[i].StartsWith('\t') || lines[i].Length == 0)
                continue;
            string head = lines[i], detail = lines[i + 1];
            var columns = head.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var skmem = Regex.Match(detail, @"skmem:\(r(\d+),rb(\d+),t(\d+),tb(\d+),f(\d+),w(\d+),o(\d+),bl(\d+),d(\d+)\)");
            Assert.True(skmem.Success, "no skmem in: " + detail);
            var rtt = Regex.Match(detail, @" rtt:([\d.]+)/");
            var cwnd = Regex.Match(detail, @" cwnd:(\d+)");
            var uid = Regex.Match(head, @" uid:(\d+)");
            var tos = Regex.Match(head, @" tos:(0x[0-9a-f]+|\d+)");
            var classId = Regex.Match(head, @" class_id:(0x[0-9a-f]+|\d+)");
            var congestion = Regex.Match(detail, @"\) (?:ts sack ecn ecnseen )?(cubic|vegas|bbr|dctcp|reno)\b");
            result.Add(new SsSocket(
                columns[0],
                Port(columns[3]), columns[4].EndsWith(":*", StringComparison.Ordinal) ? 0 : Port(columns[4]),
                uint.Parse(Regex.Match(head, @" ino:(\d+)").Groups[1].Value, CultureInfo.InvariantCulture),
                rtt.Success ? double.Parse(rtt.Groups[1].Value, CultureInfo.InvariantCulture) : null,
                cwnd.Success ? uint.Parse(cwnd.Groups[1].Value, CultureInfo.InvariantCulture) : null,
                Enumerable.Range(1, 9).Select(g => uint.Parse(skmem.Groups[g].Value, CultureInfo.InvariantCulture)).ToArray(),
                congestion.Success ? congestion.Groups[1].Value : null,
                uid.Success ? uint.Parse(uid.Groups[1].Value, CultureInfo.InvariantCulture) : null,
                (byte)ParseNumber(tos.Groups[1].Value), ParseNumber(classId.Groups[1].Value), detail));
            i++;
        }
        return result;
    }

    private static int Port(string endpoint) => int.Parse(endpoint[(endpoint.LastIndexOf(':') + 1)..], CultureInfo.InvariantCulture);

    private static uint ParseNumber(string text) => text.StartsWith("0x", StringComparison.Ordinal)
        ? uint.Parse(text[2..], NumberStyles.HexNumber, CultureInfo.InvariantCulture)
        : uint.Parse(text, CultureInfo.InvariantCulture);

    [Fact]
    public void FifteenSocketsMatchSsText()
    {
        var expected = ParseSsText(TestPaths.Fixture("6_6_44/ss_tcp_info_a_4"));
        var parsed = FixtureSet.ParseAll(FixtureSet.Datagrams("6_6_44/ss_tcp_info_a_4.pcap"));
        Assert.Equal(15, expected.Count);
        Assert.Equal(15, parsed.Count);

        foreach (var ss in expected)
        {
            var socket = Assert.Single(parsed, p => p.Inode == ss.Inode);
            Assert.Equal(ss.State, socket.State switch { 1 => "ESTAB", 10 => "LISTEN", _ => socket.State.ToString(CultureInfo.InvariantCulture) });
            Assert.Equal(ss.LocalPort, socket.SourcePort);
            Assert.Equal(ss.PeerPort, socket.DestinationPort);
            Assert.True(socket.Present.HasFlag(AttributeSet.Info) && socket.Present.HasFlag(AttributeSet.SkMemInfo));
            if (ss.RttMs is double rtt)
                Assert.Equal((uint)Math.Round(rtt * 1000), socket.Tcp.Rtt);
            if (ss.Cwnd is uint cwnd)
                Assert.Equal(cwnd, socket.Tcp.SndCwnd);
            uint[] skmem =
            [
                socket.SkMemInfoRmemAlloc, socket.SkMemInfoRcvBuf, socket.SkMemInfoWmemAlloc, socket.SkMemInfoSndBuf,
                socket.SkMemInfoFwdAlloc, socket.SkMemInfoWmemQueued, socket.SkMemInfoOptmem, socket.SkMemInfoBacklog,
                socket.SkMemInfoDrops,
            ];
            Assert.Equal(ss.SkMem, skmem);
            if (ss.Congestion != null)
                Assert.Equal(ss.Congestion, Encoding.ASCII.GetString(socket.CongestionNameBytes));
            if (ss.Uid is uint uid)
                Assert.Equal(uid, socket.Uid);
            Assert.Equal(ss.Tos, socket.TypeOfService);
            Assert.Equal(ss.ClassId, socket.ClassId);
            AssertTcpInfoMatchesSsDetail(ss.Detail, socket.Tcp);
        }
    }

    /// <summary>Every tcp_info figure ss printed (it omits zeros) equals our decode of the same bytes.</summary>
    private static void AssertTcpInfoMatchesSsDetail(string detail, TcpInfo t)
    {
        var exact = new Dictionary<string, ulong>
        {
            ["mss"] = t.SndMss, ["pmtu"] = t.Pmtu, ["rcvmss"] = t.RcvMss, ["advmss"] = t.AdvMss, ["cwnd"] = t.SndCwnd,
            ["bytes_sent"] = t.BytesSent, ["bytes_acked"] = t.BytesAcked, ["bytes_received"] = t.BytesReceived,
            ["segs_out"] = t.SegsOut, ["segs_in"] = t.SegsIn, ["data_segs_out"] = t.DataSegsOut, ["data_segs_in"] = t.DataSegsIn,
            ["delivered"] = t.Delivered, ["unacked"] = t.Unacked, ["rcv_space"] = t.RcvSpace, ["rcv_ssthresh"] = t.RcvSsthresh,
            ["snd_wnd"] = t.SndWnd, ["rcv_wnd"] = t.RcvWnd, ["lastsnd"] = t.LastDataSent, ["lastrcv"] = t.LastDataRecv,
            ["lastack"] = t.LastAckRecv, ["retrans"] = t.TotalRetrans,
        };
        // ss prints these microsecond fields in milliseconds.
        var millis = new Dictionary<string, uint> { ["rto"] = t.Rto, ["ato"] = t.Ato, ["minrtt"] = t.MinRtt, ["rcv_rtt"] = t.RcvRtt };
        var rates = new Dictionary<string, ulong> { ["pacing_rate"] = t.PacingRate, ["delivery_rate"] = t.DeliveryRate };
        int compared = 0;
        foreach (Match m in Regex.Matches(detail, @"(?<=\s)([a-z_]+):([\d.]+)(?=\s|$)"))
        {
            string key = m.Groups[1].Value, text = m.Groups[2].Value;
            if (exact.TryGetValue(key, out var value))
                Assert.True(ulong.Parse(text, CultureInfo.InvariantCulture) == value, $"{key}: ss {text}, parsed {value}");
            else if (millis.TryGetValue(key, out var micros))
                Assert.True(Math.Abs(double.Parse(text, CultureInfo.InvariantCulture) * 1000 - micros) <= Math.Max(1, micros * 1e-5), // %g: 6 digits
                    $"{key}: ss {text} ms, parsed {micros} us");
            else
                continue;
            compared++;
        }
        foreach (Match m in Regex.Matches(detail, @" (pacing_rate|delivery_rate) (\d+)bps"))
        {
            Assert.Equal(ulong.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture), rates[m.Groups[1].Value] * 8);
            compared++;
        }
        var busy = Regex.Match(detail, @" busy:(\d+)ms");
        if (busy.Success)
            Assert.Equal(ulong.Parse(busy.Groups[1].Value, CultureInfo.InvariantCulture), t.BusyTime / 1000);
        var wscale = Regex.Match(detail, @" wscale:(\d+),(\d+)");
        if (wscale.Success)
            Assert.Equal((wscale.Groups[1].Value, wscale.Groups[2].Value), (t.SendScale.ToString(CultureInfo.InvariantCulture), t.RcvScale.ToString(CultureInfo.InvariantCulture)));
        Assert.Equal(wscale.Success, (t.Options & 4) != 0);
        Assert.Equal(detail.Contains(" ts ", StringComparison.Ordinal), (t.Options & 1) != 0);
        Assert.Equal(detail.Contains(" sack ", StringComparison.Ordinal), (t.Options & 2) != 0);
        Assert.Equal(detail.Contains(" ecnseen ", StringComparison.Ordinal), (t.Options & 16) != 0);
        Assert.Equal(detail.Contains(" app_limited ", StringComparison.Ordinal), t.DeliveryRateAppLimited == 1);
        Assert.True(compared >= 1, "nothing compared in: " + detail);
    }
}
