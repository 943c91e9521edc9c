using XtcpEpoll.Netlink.Capture;
using XtcpEpoll.Netlink.Parsing;
using XtcpEpoll.Sinks.Records;

namespace XtcpEpoll.Bench.Benchmarks;

/// <summary>
/// 10,000 realistic records for the marshal benchmarks: sockets parsed from a real kernel capture
/// (tests/fixtures/netlink), repeated with distinct counters until the count
/// is reached.
/// </summary>
public static class MarshalRecords
{
    public const string Capture = "6_10_3/6_10_3_tcp_2000_sockets_with_netem_bbr_approx_60mins.pcap";

    /// <summary>
    /// The same records as <see cref="Load"/>, each owned by one of 100 pod containers (64-hex container id,
    /// runtime, pod uid): what a dense Kubernetes node's records look like after attribution.
    /// </summary>
    public static FlatRecord[] LoadAttributed(int count)
    {
        var records = Load(count);
        var owners = new RecordAttribution[100];
        for (var i = 0; i < owners.Length; i++)
        {
            var id = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(BitConverter.GetBytes(i)));
            owners[i] = RecordAttribution.Create(id, "containerd", new Guid(System.Security.Cryptography.MD5.HashData(BitConverter.GetBytes(i))).ToString());
        }
        for (var i = 0; i < records.Length; i++) records[i].Attribution = owners[i / 100 % owners.Length];
        return records;
    }

    public static FlatRecord[] Load(int count)
    {
        var context = new RecordContext
        {
            Hostname = "bench-host-01.example.net",
            Netns = "cni-3f1c9a2e-77b0-4f2d-9a8e-0b1e5c6d7f80",
            NetnsInode = 4026532567,
            TimestampNs = 1_763_900_000_123_456_789,
            Label = "production",
            Tag = "tcp",
            DaemonVersion = "0.1.0",
            SocketFd = 42,
        };
        var parsed = ParseFixture();
        if (parsed.Count == 0)
            throw new InvalidOperationException("no sockets parsed from " + FixturePath());
        var records = new FlatRecord[count];
        for (var i = 0; i < count; i++)
            records[i] = new FlatRecord { Socket = parsed[i % parsed.Count], Context = context, RecordCounter = (ulong)i, NetlinkerId = (ulong)(i % 4) };
        return records;
    }

    private static List<ParsedSocket> ParseFixture()
    {
        var sockets = new List<ParsedSocket>();
        var socket = new ParsedSocket();
        foreach (var datagram in CaptureFile.ReadDatagrams(FixturePath()))
        {
            var reader = new SockDiagReader(datagram, null);
            while (reader.Next(ref socket) == SockDiagItem.Socket)
            {
                sockets.Add(socket);
                socket = default;
            }
        }
        return sockets;
    }

    private static string FixturePath() => BenchFixtures.Capture(Capture);
}
