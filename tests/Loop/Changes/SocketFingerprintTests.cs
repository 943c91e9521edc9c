using System.Reflection;
using XtcpEpoll.Loop.Changes;
using XtcpEpoll.Netlink.Parsing;
using Xunit;

namespace XtcpEpoll.Tests.Loop.Changes;

/// <summary>
/// The --emit changed rule, field by field: every field of ParsedSocket and TcpInfo either counts (changing
/// it alone changes the fingerprint) or is on the documented list of fields that do not (ARCHITECTURE,
/// "Change-only records"). A field added to the structs fails here until it is put on one side.
/// </summary>
public class SocketFingerprintTests
{
    /// <summary>Fields that move with time alone, or cannot change for a cookie, or are not in the record.</summary>
    private static readonly HashSet<string> NotCounted =
    [
        // netlink framing, identity of the socket (fixed for a cookie)
        "MessageType", "Sequence", "Family", "SourcePort", "DestinationPort", "Interface", "Cookie", "Uid", "Inode",
        // time until the pending timer fires: moves with the clock
        "Expires",
        // tcp_info ages and chrono timers: move with the clock
        "LastDataSent", "LastAckSent", "LastDataRecv", "LastAckRecv", "BusyTime", "RwndLimited", "SndbufLimited", "TotalRtoTime",
        // AccECN tail: no field of the record carries it
        "ReceivedCe", "DeliveredE1Bytes", "DeliveredE0Bytes", "DeliveredCeBytes", "ReceivedE1Bytes", "ReceivedE0Bytes", "ReceivedCeBytes",
        "AccecnFailMode", "AccecnOptSeen",
    ];

    private static ParsedSocket Busy()
    {
        var s = new ParsedSocket { Cookie = 77, State = 1, Present = (AttributeSet)uint.MaxValue, TcpInfoLength = 248 };
        s.Tcp.BytesAcked = 1000;
        return s;
    }

    public static TheoryData<string> SocketFields() => Names(typeof(ParsedSocket));
    public static TheoryData<string> TcpInfoFields() => Names(typeof(TcpInfo));

    private static TheoryData<string> Names(Type type)
    {
        var data = new TheoryData<string>();
        foreach (var f in type.GetFields(BindingFlags.Instance | BindingFlags.Public))
            if (f.FieldType.IsPrimitive || f.FieldType.IsEnum) data.Add(f.Name);
        return data;
    }

    [Theory]
    [MemberData(nameof(SocketFields))]
    public void A_socket_field_counts_unless_it_is_listed(string name)
    {
        var socket = Busy();
        ulong before = SocketFingerprint.Of(ref socket);
        object boxed = socket;
        Bump(typeof(ParsedSocket).GetField(name)!, boxed);
        socket = (ParsedSocket)boxed;
        Assert.Equal(!NotCounted.Contains(name), SocketFingerprint.Of(ref socket) != before);
    }

    [Theory]
    [MemberData(nameof(TcpInfoFields))]
    public void A_tcp_info_field_counts_unless_it_is_listed(string name)
    {
        var socket = Busy();
        ulong before = SocketFingerprint.Of(ref socket);
        object boxed = socket.Tcp;
        Bump(typeof(TcpInfo).GetField(name)!, boxed);
        socket.Tcp = (TcpInfo)boxed;
        Assert.Equal(!NotCounted.Contains(name), SocketFingerprint.Of(ref socket) != before);
    }

    [Fact]
    public unsafe void The_congestion_name_and_addresses_are_judged_by_the_rule_too()
    {
        var socket = Busy();
        ulong before = SocketFingerprint.Of(ref socket);
        socket.Source[3] = 9;
        socket.Destination[15] = 9;
        Assert.Equal(before, SocketFingerprint.Of(ref socket)); // identity: fixed for a cookie
        socket.CongestionName[12] = (byte)'x';
        Assert.NotEqual(before, SocketFingerprint.Of(ref socket));
    }

    [Fact]
    public void An_attribute_the_kernel_did_not_send_does_not_count()
    {
        var socket = Busy();
        socket.Present = AttributeSet.Info;
        ulong before = SocketFingerprint.Of(ref socket);
        socket.SkMemInfoRmemAlloc = 4096; // stale value of a group that is absent
        Assert.Equal(before, SocketFingerprint.Of(ref socket));
    }

    private static void Bump(FieldInfo field, object target)
    {
        var value = field.GetValue(target)!;
        object bumped = value switch
        {
            byte b => (byte)(b + 1),
            ushort u => (ushort)(u + 1),
            uint u => u + 1,
            ulong u => u + 1,
            Enum e => Enum.ToObject(field.FieldType, Convert.ToInt64(e) + 1),
            _ => throw new InvalidOperationException($"{field.Name}: {value.GetType()}"),
        };
        field.SetValue(target, bumped);
    }
}
