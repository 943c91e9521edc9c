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
        uint[] SkMem, string? Congestion, uint? Uid, byte Tos, uint ClassId);

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
                (byte)ParseNumber(tos.Groups[1].Value), ParseNumber(classId.Groups[1].Value)));
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
        }
    }
}
