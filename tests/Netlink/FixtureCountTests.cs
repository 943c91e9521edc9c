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

    /// <summary>
    /// Every file shipped in tests/fixtures/netlink is named in its README (which says what it proves), so a
    /// capture nobody can explain does not creep in; netlink_packets_capture/ is described as one directory.
    /// </summary>
    [Fact]
    public void ReadmeNamesEveryShippedFile()
    {
        var readme = File.ReadAllText(TestPaths.Fixture("README.md"));
        var unnamed = new List<string>();
        foreach (var file in Directory.EnumerateFiles(TestPaths.Fixtures, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(TestPaths.Fixtures, file);
            if (relative == "README.md" || relative.StartsWith("netlink_packets_capture/", StringComparison.Ordinal))
                continue;
            if (!readme.Contains("`" + relative + "`", StringComparison.Ordinal))
                unnamed.Add(relative);
        }
        Assert.Empty(unnamed);
        Assert.Contains("`netlink_packets_capture/`", readme, StringComparison.Ordinal);
    }

    /// <summary>The fixtures stay small enough to clone with the code (issue 11: at most 12 MB).</summary>
    [Fact]
    public void FixturesStayWithinTwelveMegabytes()
    {
        long bytes = Directory.EnumerateFiles(TestPaths.Fixtures, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
        Assert.True(bytes <= 12 * 1000 * 1000, $"tests/fixtures/netlink holds {bytes} bytes");
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
