using Xunit;
using XtcpEpoll.Netlink.Parsing;

namespace XtcpEpoll.Tests.Netlink;

public class FixtureCountTests
{
    public static IEnumerable<object[]> ReadmeRows()
        => FixtureSet.ReadmeTable().Select(row => new object[] { row.File, row.Messages });

    [Fact]
    public void ReadmeTableIsReadAndCoversEveryPcap()
    {
        var table = FixtureSet.ReadmeTable();
        var pcaps = Directory.GetFiles(TestPaths.Fixtures, "*.pcap", SearchOption.AllDirectories)
            .Select(p => Path.GetRelativePath(TestPaths.Fixtures, p)).Order().ToList();
        Assert.Equal(pcaps, table.Select(r => r.File).Order().ToList());
    }

    [Theory]
    [MemberData(nameof(ReadmeRows))]
    public void EmittedSocketsEqualReadmeCount(string file, int expected)
    {
        var errors = new ParseErrorCounters();
        var datagrams = FixtureSet.Datagrams(file);
        var sockets = FixtureSet.ParseAll(datagrams, errors);
        Assert.Equal(expected, sockets.Count);
        // Every emitted socket is a real TCP socket reply of either family.
        Assert.All(sockets, s => Assert.True(s.Family is 2 or 10, $"family {s.Family}"));
        // Summarize counts the same messages (it only skips no framing damage differently).
        int summarized = datagrams.Sum(d => SockDiagReader.Summarize(d).SocketMessages);
        Assert.True(summarized >= expected, $"summarize {summarized} < parsed {expected}");
    }
}
