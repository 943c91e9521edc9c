using System.Net;
using Google.Protobuf;
using XtcpEpoll.Sinks.Proto;

namespace XtcpEpoll.Tests.Consumers;

/// <summary>
/// Records made by hand (Google.Protobuf's generated classes) for fields the daemon does not fill yet
/// (pod_uid, container_id: attribution; record_origin = 1: destroy events) and for values chosen so every
/// shipped query has one exact expected answer. Host "hand-node", two polls 10 s apart, 30 minutes ago:
/// - cni-a (pod-a): cookies 11 (established, rtt 1.0/1.2 ms, total_retrans 5 -> 9), 12 (established,
///   rtt 2.0/2.2 ms, 0 -> 2), 13 (listening);
/// - cni-b (pod-b): cookie 21 (established, rtt 50/70 ms, total_retrans 20 -> 50);
/// - default (the host, no pod): cookie 31 (established, rtt 0.3 ms, no retransmits);
/// - cni-c: destroy records only, 3 + 5 + 2 in minutes M, M+1 and M+3 (M = 2 minutes after the polls),
///   the first of each minute with total_retrans 1.
/// </summary>
public sealed class HandMadeRecords
{
    public const string Host = "hand-node";

    public HandMadeRecords(DateTimeOffset now)
    {
        var minute = new DateTimeOffset(now.Year, now.Month, now.Day, now.Hour, now.Minute, 0, TimeSpan.Zero).AddMinutes(-30);
        PollMinute = minute;
        var poll1 = minute.AddSeconds(5);
        var poll2 = minute.AddSeconds(15);
        DestroyMinute = minute.AddMinutes(2);

        var polls = new Envelope();
        foreach (var (ts, second) in new[] { (poll1, false), (poll2, true) })
        {
            polls.Row.Add(Socket(ts, "cni-a", 4001, "pod-a", "c-a1", 11, Established, second ? 1200u : 1000u, second ? 9u : 5u, V6("fd00::11"), V6("fd00::1")));
            polls.Row.Add(Socket(ts, "cni-a", 4001, "pod-a", "c-a1", 12, Established, second ? 2200u : 2000u, second ? 2u : 0u, V4("10.0.0.12"), V4("10.96.0.2")));
            polls.Row.Add(Socket(ts, "cni-a", 4001, "pod-a", "c-a1", 13, Listen, 0, 0, V4("0.0.0.0"), V4("0.0.0.0")));
            polls.Row.Add(Socket(ts, "cni-b", 4002, "pod-b", "c-b1", 21, Established, second ? 70000u : 50000u, second ? 50u : 20u, V4("10.0.0.21"), V4("10.96.0.1")));
            polls.Row.Add(Socket(ts, "default", 4000, "", "", 31, Established, 300, 0, V4("192.0.2.31"), V4("198.51.100.1")));
        }
        var destroys = new Envelope();
        foreach (var (offset, count) in ClosedPerMinute)
        {
            for (var i = 0; i < count; i++)
            {
                var cookie = 100ul + (ulong)offset * 10 + (ulong)i + 1;
                var r = Socket(DestroyMinute.AddMinutes(offset).AddSeconds(1 + i), "cni-c", 4003, "", "", cookie, Close, 900, i == 0 ? 1u : 0u, V4("10.0.3.1"), V4("10.0.3.2"));
                r.RecordOrigin = 1;
                destroys.Row.Add(r);
            }
        }
        Envelopes = [polls, destroys];
    }

    private const uint Established = 1, Close = 7, Listen = 10;

    /// <summary>Minute offsets from <see cref="DestroyMinute"/> and the connections closed in each.</summary>
    public static readonly (int Offset, int Count)[] ClosedPerMinute = [(0, 3), (1, 5), (3, 2)];

    public DateTimeOffset PollMinute { get; }
    public DateTimeOffset DestroyMinute { get; }
    public IReadOnlyList<Envelope> Envelopes { get; }
    public int RowCount => Envelopes.Sum(e => e.Row.Count);
    public int DefaultNamespaceRows => Envelopes.Sum(e => e.Row.Count(r => r.Netns == "default"));

    private static XtcpFlatRecord Socket(DateTimeOffset ts, string netns, ulong inode, string pod, string container, ulong cookie, uint state,
        uint rttMicros, uint totalRetrans, Address source, Address destination) => new()
    {
        SchemaVersion = 1,
        DaemonVersion = "hand-made",
        TimestampNs = (ts.UtcTicks - DateTime.UnixEpoch.Ticks) * 100,
        Hostname = Host,
        Netns = netns,
        NetnsInode = inode,
        PodUid = pod,
        ContainerId = container,
        ContainerRuntime = container.Length == 0 ? "" : "containerd",
        InetDiagMsgFamily = source.Family,
        InetDiagMsgState = state,
        InetDiagMsgSocketSourcePort = 40000 + (uint)cookie,
        InetDiagMsgSocketDestinationPort = 443,
        InetDiagMsgSocketSource = ByteString.CopyFrom(source.Field),
        InetDiagMsgSocketDestination = ByteString.CopyFrom(destination.Field),
        InetDiagMsgSocketCookie = cookie,
        TcpInfoState = state,
        TcpInfoRtt = rttMicros,
        TcpInfoTotalRetrans = totalRetrans,
        TcpInfoBytesAcked = 1000 * cookie,
        CongestionAlgorithmEnum = XtcpFlatRecord.Types.CongestionAlgorithm.Cubic,
    };

    private readonly record struct Address(uint Family, byte[] Field);

    // IPv4 as xtcp2 writes it: the kernel's 16-byte field, the address first, then 12 zero bytes.
    private static Address V4(string address)
    {
        var field = new byte[16];
        IPAddress.Parse(address).GetAddressBytes().CopyTo(field, 0);
        return new Address(2, field);
    }

    private static Address V6(string address) => new(10, IPAddress.Parse(address).GetAddressBytes());
}
