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
    /// Fixtures are read in place from ../shared; a capture copied into the repository (or written there by
    /// a test) would go stale beside the originals. Scans every file outside build and git output.
    /// </summary>
    [Fact]
    public void RepositoryHoldsNoCaptureFiles()
    {
        string[] skipped = [".git", "bin", "obj", "artifacts", "BenchmarkDotNet.Artifacts", "TestResults"];
        var captures = new List<string>();
        var pending = new Stack<string>([TestPaths.RepoRoot]);
        Span<byte> head = stackalloc byte[4];
        while (pending.Count > 0)
        {
            var dir = pending.Pop();
            foreach (var sub in Directory.EnumerateDirectories(dir))
                if (!skipped.Contains(Path.GetFileName(sub))) pending.Push(sub);
            foreach (var file in Directory.EnumerateFiles(dir))
            {
                using var stream = File.OpenRead(file);
                int n = stream.ReadAtLeast(head, 4, throwOnEndOfStream: false);
                uint magic = n == 4 ? System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(head) : 0;
                if (file.EndsWith(".pcap", StringComparison.OrdinalIgnoreCase) || file.EndsWith(".pcapng", StringComparison.OrdinalIgnoreCase)
                    || magic is 0xA1B2C3D4 or 0xD4C3B2A1 or 0xA1B23C4D or 0x4D3CB2A1 or 0x0A0D0D0A)
                    captures.Add(Path.GetRelativePath(TestPaths.RepoRoot, file));
            }
        }
        Assert.Empty(captures);
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
