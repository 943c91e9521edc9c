extern alias xtcp2;

using System.Text.Json;
using Grpc.Core;
using xtcp2::XtcpFlatRecord.V1;
using Xunit;

namespace XtcpEpoll.Tests.Host.Control;

/// <summary>XTCPFlatRecordService through xtcp2's generated client: the records streamed, and a client that never reads.</summary>
public class RecordStreamTests
{
    private const int Listeners = 3;

    [Fact]
    public async Task FlatRecords_receives_the_same_records_as_the_file_sink()
    {
        using var namespaces = new TestNamespaces("stream-file");
        namespaces.Add(Listeners);
        namespaces.Add(Listeners);
        var file = Path.Combine(namespaces.Directory.FullName, "records.jsonl");
        using var daemon = new ControlDaemon("--dest", "file:" + file, "--marshal", "jsonl", "--frequency", "1s", "--timeout", "500ms",
            "--netns-dirs", namespaces.Directory.FullName);
        using var channel = daemon.Channel();
        var client = new XTCPFlatRecordService.XTCPFlatRecordServiceClient(channel);

        var streamed = new List<xtcp2::XtcpFlatRecord.V1.XtcpFlatRecord>();
        using (var call = client.FlatRecords(new FlatRecordsRequest()))
        {
            var stream = call.ResponseStream;
            var polls = new HashSet<long>();
            // Five polls seen: the first may have been joined midway and the last left midway, three are whole.
            while (polls.Count < 5 && await stream.MoveNext())
            {
                var record = stream.Current.XtcpFlatRecord;
                streamed.Add(record);
                if (IsPollOfTestNamespace(record.Netns, record.InetDiagMsgState, namespaces)) polls.Add(record.TimestampNs);
            }
        }
        daemon.Process.Signal(NativeTest.SIGTERM);
        Assert.Equal(0, daemon.Process.WaitForExit(ControlDaemon.Patience));

        // Only the test namespaces: the host's own namespace (always collected) has sockets closing at any time,
        // whose destroy records carry their own timestamps. A listener's record marks a poll.
        var wholePolls = streamed.Where(r => IsPollOfTestNamespace(r.Netns, r.InetDiagMsgState, namespaces)).Select(r => r.TimestampNs).Distinct().Skip(1).SkipLast(1).ToHashSet();
        Assert.Equal(3, wholePolls.Count);
        var fromStream = streamed.Where(r => wholePolls.Contains(r.TimestampNs) && namespaces.Names.Contains(r.Netns)).Select(r => Key(r.TimestampNs, r.Netns, r.InetDiagMsgSocketSourcePort, r.InetDiagMsgSocketDestinationPort, r.InetDiagMsgState)).Order().ToList();
        var fromFile = FileRows(file).Where(r => wholePolls.Contains(r.TimestampNs) && namespaces.Names.Contains(r.Netns)).Select(r => Key(r.TimestampNs, r.Netns, r.SourcePort, r.DestinationPort, r.State)).Order().ToList();
        Assert.NotEmpty(fromStream);
        Assert.Equal(fromFile, fromStream);
        // Every test namespace's sockets are in it.
        foreach (var name in namespaces.Names) Assert.Contains(streamed, r => r.Netns == name);
    }

    [Fact]
    public void A_client_that_never_reads_loses_records_and_its_call_but_polls_go_on()
    {
        using var namespaces = new TestNamespaces("stream-stall");
        for (int i = 0; i < 4; i++) namespaces.Add(Listeners);
        using var daemon = new ControlDaemon("--dest", "null", "--frequency", "300ms", "--timeout", "200ms", "--jitter-pct", "0",
            "--netns-dirs", namespaces.Directory.FullName, "--stream-queue", "16");
        // The smallest HTTP/2 window: the server's writes stop at once when this client does not read.
        using var channel = daemon.Channel(streamWindow: 65_535);
        var client = new XTCPFlatRecordService.XTCPFlatRecordServiceClient(channel);
        using var call = client.FlatRecords(new FlatRecordsRequest()); // never read

        daemon.Process.WaitUntil(() => daemon.MetricSum("xtcp_stream_records_dropped_total") > 0, ControlDaemon.Patience, "dropped records");
        // Polls go on while the client is stuck (a tap that waited for it would stop them all): ten more, at a
        // 300 ms period, well within ten seconds even on a loaded machine.
        var polls = daemon.MetricSum("xtcp_polls_total");
        daemon.Process.WaitUntil(() => daemon.MetricSum("xtcp_polls_total") >= polls + 10, TimeSpan.FromSeconds(10), "polls while a client is stuck");
        // 4 x 16 drops in a row: the daemon ends the call.
        daemon.Process.WaitUntil(() => daemon.MetricSum("xtcp_stream_disconnects_total") >= 1, ControlDaemon.Patience, "the stuck client's disconnection");
        daemon.Process.WaitUntil(() => daemon.MetricSum("xtcp_stream_subscribers") == 0, ControlDaemon.Patience, "the subscriber gone");
    }

    private const uint Listen = 10;

    private static bool IsPollOfTestNamespace(string netns, uint state, TestNamespaces namespaces) => state == Listen && namespaces.Names.Contains(netns);

    private static string Key(long timestampNs, string netns, uint source, uint destination, uint state) => $"{timestampNs} {netns} {source} {destination} {state}";

    private sealed record FileRow(long TimestampNs, string Netns, uint SourcePort, uint DestinationPort, uint State);

    private static List<FileRow> FileRows(string path)
    {
        var rows = new List<FileRow>();
        foreach (var line in File.ReadLines(path))
        {
            if (string.IsNullOrWhiteSpace(line)) continue;
            using var doc = JsonDocument.Parse(line);
            var root = doc.RootElement;
            if (Number(root, "recordOrigin") != 0) continue;
            rows.Add(new FileRow(Number(root, "timestampNs"), root.TryGetProperty("netns", out var n) ? n.GetString() ?? "" : "",
                (uint)Number(root, "inetDiagMsgSocketSourcePort"), (uint)Number(root, "inetDiagMsgSocketDestinationPort"), (uint)Number(root, "inetDiagMsgState")));
        }
        return rows;
    }

    private static long Number(JsonElement root, string name)
    {
        if (!root.TryGetProperty(name, out var value)) return 0;
        return value.ValueKind == JsonValueKind.String ? long.Parse(value.GetString()!) : value.GetInt64();
    }
}
