using Google.Protobuf;
using XtcpEpoll.Netlink.Capture;
using XtcpEpoll.Tests.Loop.Dumps;
using XtcpEpoll.Sinks.Proto;
using XtcpEpoll.Tests.Netlink;
using Xunit;

namespace XtcpEpoll.Tests.Host;

/// <summary>`replay` emits one record per complete inet_diag message, through the live marshaller/destination.</summary>
public class ReplayCommandTests
{
    [Theory]
    [InlineData("6_6_44/tcp_100_sockets.pcap", 1200)]
    [InlineData("6_6_44/ss_tcp_info_a_4.pcap", 15)]
    [InlineData("5_4_281/5_4_281_tcp_10_sockets.pcap", 33)]
    public void Replay_to_a_jsonl_file_writes_one_line_per_message_in_the_readme(string fixture, int expected)
    {
        var output = Path.Combine(Path.GetTempPath(), $"xt-host-replay-{Guid.NewGuid():N}.jsonl");
        try
        {
            var result = CliRunner.Run("replay", TestPaths.Fixture(fixture), "--marshal", "jsonl", "--dest", "file:" + output, "--hostname", "replayhost");

            Assert.True(result.ExitCode == 0, result.Stderr);
            var rows = JsonlRecords.Parse(File.ReadLines(output));
            Assert.Equal(expected, rows.Count);
            Assert.All(rows, r => Assert.Equal("replay", r.Netns));
            Assert.All(rows, r => Assert.True(r.TimestampNs > 0));
        }
        finally
        {
            File.Delete(output);
        }
    }

    [Fact]
    public void Replay_of_several_files_concatenates_their_records()
    {
        var output = Path.Combine(Path.GetTempPath(), $"xt-host-replay-{Guid.NewGuid():N}.jsonl");
        try
        {
            var result = CliRunner.Run("replay", TestPaths.Fixture("6_6_44/tcp_10_sockets.pcap"), TestPaths.Fixture("6_6_44/ss_tcp_info_a_4.pcap"),
                "--marshal", "jsonl", "--dest", "file:" + output);

            Assert.True(result.ExitCode == 0, result.Stderr);
            Assert.Equal(96 + 15, File.ReadLines(output).Count());
        }
        finally
        {
            File.Delete(output);
        }
    }

    [Fact]
    public void Replay_to_a_file_twice_gives_the_same_file_unless_file_append()
    {
        var output = Path.Combine(Path.GetTempPath(), $"xt-host-replay-{Guid.NewGuid():N}.jsonl");
        var fixture = TestPaths.Fixture("6_6_44/ss_tcp_info_a_4.pcap");
        try
        {
            for (var run = 0; run < 2; run++)
            {
                var result = CliRunner.Run("replay", fixture, "--marshal", "jsonl", "--dest", "file:" + output);
                Assert.True(result.ExitCode == 0, result.Stderr);
                Assert.Equal(15, File.ReadLines(output).Count()); // truncated at start: idempotent
            }
            var appended = CliRunner.Run("replay", fixture, "--marshal", "jsonl", "--dest", "file:" + output, "--file-append");
            Assert.True(appended.ExitCode == 0, appended.Stderr);
            Assert.Equal(30, File.ReadLines(output).Count());
        }
        finally
        {
            File.Delete(output);
        }
    }

    [Theory]
    [InlineData("collect")]
    [InlineData("replay")]
    public void Help_says_that_file_truncates_and_how_to_append(string command)
    {
        var help = CliRunner.Run(command, "--help").Stdout;
        Assert.Contains("file:PATH (truncated at start; see --file-append)", help);
        Assert.Contains("--file-append", help);
    }

    [Fact]
    public void Replay_protobufList_round_trips_through_the_protobuf_parser()
    {
        var output = Path.Combine(Path.GetTempPath(), $"xt-host-replay-{Guid.NewGuid():N}.pb");
        try
        {
            var result = CliRunner.Run("replay", TestPaths.Fixture("6_6_44/tcp_100_sockets.pcap"), "--marshal", "protobufList",
                "--dest", "file:" + output, "--hostname", "replayhost", "--envelope-flush-rows", "500");

            Assert.True(result.ExitCode == 0, result.Stderr);
            var rows = 0;
            var envelopes = 0;
            var ipv4 = 0;
            using (var stream = File.OpenRead(output))
            {
                while (stream.Position < stream.Length)
                {
                    var envelope = Envelope.Parser.ParseDelimitedFrom(stream);
                    envelopes++;
                    foreach (var row in envelope.Row)
                    {
                        Assert.Equal("replayhost", row.Hostname);
                        Assert.Equal("replay", row.Netns);
                        // Addresses are the kernel's 16-byte fields, as xtcp2 writes them; IPv4: 12 zero bytes after the address.
                        Assert.Equal(16, row.InetDiagMsgSocketSource.Length);
                        Assert.Equal(16, row.InetDiagMsgSocketDestination.Length);
                        if (row.InetDiagMsgFamily == 2)
                        {
                            ipv4++;
                            Assert.All(row.InetDiagMsgSocketSource.Span[4..].ToArray(), b => Assert.Equal(0, b));
                            Assert.All(row.InetDiagMsgSocketDestination.Span[4..].ToArray(), b => Assert.Equal(0, b));
                        }
                        rows++;
                    }
                }
            }
            Assert.Equal(1200, rows);
            Assert.True(ipv4 > 0, "the capture holds IPv4 sockets");
            Assert.True(envelopes >= 3, $"rows cap 500 must split 1200 rows into >= 3 envelopes, got {envelopes}");
        }
        finally
        {
            File.Delete(output);
        }
    }

    /// <summary>
    /// An nlmon capture taken while `ss` resolved addresses: real rtnetlink datagrams (RTM_NEWADDR, type 20
    /// like SOCK_DIAG_BY_FAMILY, from xtcp2's BBR capture) interleaved with the 15-socket sock_diag dump. The
    /// real executable replays only the sock_diag sockets; its summary line counts the others by protocol.
    /// </summary>
    [Fact]
    public void Replay_of_an_nlmon_capture_takes_only_sock_diag_and_counts_the_other_protocols()
    {
        var directory = Directory.CreateTempSubdirectory("xt-host-replay-mixed-");
        try
        {
            var route = NlmonPcapBuilder.Records(TestPaths.Fixture("6_6_44/tcp_100_sockets_bbr.pcap"))
                .Where(r => r.Protocol == NetlinkProtocols.Route).Select(r => r.Datagram).ToList();
            var sockDiag = FixtureSet.Datagrams("6_6_44/ss_tcp_info_a_4.pcap");
            var pcap = new NlmonPcapBuilder();
            foreach (var datagram in route) pcap.Datagram(NetlinkProtocols.Route, datagram);
            foreach (var datagram in sockDiag) pcap.Datagram(NetlinkProtocols.SockDiag, datagram);
            pcap.Datagram(16, NlmonPcapBuilder.GenericNetlinkReply(4));
            var capture = Path.Combine(directory.FullName, "mixed.pcap");
            File.WriteAllBytes(capture, pcap.ToArray());
            var output = Path.Combine(directory.FullName, "out.jsonl");

            using var replay = DaemonProcess.Start("replay", capture, "--marshal", "jsonl", "--dest", "file:" + output);
            Assert.Equal(0, replay.WaitForExit(TimeSpan.FromMinutes(2)));

            var rows = JsonlRecords.Parse(File.ReadLines(output));
            Assert.Equal(15, rows.Count);
            Assert.DoesNotContain(rows, r => r.State == 24 || r.SourcePort == 512); // what the RTM_NEWADDR messages would read as
            Assert.Contains($"replay done: 1 files, 15 records, ", replay.Stderr);
            Assert.Contains($", {sockDiag.Count} sock_diag datagrams, skipped {route.Count + 1} of other netlink protocols (route {route.Count}, generic 1)",
                replay.Stderr);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    /// <summary>
    /// Replay runs the live datagram path (issue 12): a cookie once per dump, nothing after a dump's DONE, and
    /// DumpIncomplete from an NLM_F_DUMP_INTR datagram on; each DONE starts the next dump.
    /// </summary>
    [Fact]
    public void Replay_dedupes_per_dump_stops_at_DONE_and_flags_interrupted_dumps_like_collection()
    {
        var captures = Path.Combine(Path.GetTempPath(), $"xt-host-replay-{Guid.NewGuid():N}");
        var output = captures + ".jsonl";
        Directory.CreateDirectory(captures);
        try
        {
            // Raw datagram files, read in name order: one dump (cookies 1, 2, 2 again, 3, then DONE and a stray
            // message after it), then a second dump whose datagram is flagged NLM_F_DUMP_INTR.
            File.WriteAllBytes(Path.Combine(captures, "1"), DumpWire.Sockets(5, 1, 2));
            File.WriteAllBytes(Path.Combine(captures, "2"), [.. DumpWire.SocketsThenDone(5, 2, 3), .. DumpWire.Sockets(5, 4)]);
            File.WriteAllBytes(Path.Combine(captures, "3"), DumpWire.Interrupted(6, 1));
            var result = CliRunner.Run("replay", captures, "--marshal", "jsonl", "--dest", "file:" + output);

            Assert.True(result.ExitCode == 0, result.Stderr);
            var rows = File.ReadLines(output).Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement).ToList();
            Assert.Equal([1001, 1002, 1003, 1001], rows.Select(r => r.GetProperty("inetDiagMsgSocketSourcePort").GetInt32()));
            Assert.Equal([false, false, false, true], rows.Select(r => r.TryGetProperty("dumpIncomplete", out var v) && v.GetBoolean()));
        }
        finally
        {
            Directory.Delete(captures, recursive: true);
            File.Delete(output);
        }
    }

    [Fact]
    public void A_misspelt_xtcp_variable_is_warned_about_like_collect_does_but_a_collect_option_is_not()
    {
        var env = new Dictionary<string, string> { ["XTCP_MARSHALL"] = "jsonl", ["XTCP_FREQUENCY"] = "30s" };

        var result = CliRunner.Run(env, "replay", TestPaths.Fixture("6_6_44/tcp_10_sockets.pcap"), "--print-config");

        Assert.Equal(0, result.ExitCode);
        var warning = Assert.Single(result.StderrLines);
        Assert.Contains("XTCP_MARSHALL is not an xtcp-epoll option", warning);
        Assert.Equal("protobufList", result.Config()["marshal"]); // ignored
    }

    [Fact]
    public void A_file_that_is_not_a_capture_is_one_line_and_exit_2()
    {
        var junk = Path.GetTempFileName();
        try
        {
            File.WriteAllText(junk, "this is not a capture file at all");
            var result = CliRunner.Run("replay", junk, "--dest", "null");

            Assert.Equal(2, result.ExitCode);
            Assert.Contains(junk, Assert.Single(result.StderrLines, l => l.StartsWith("xtcp-epoll:", StringComparison.Ordinal)));
        }
        finally
        {
            File.Delete(junk);
        }
    }
}
