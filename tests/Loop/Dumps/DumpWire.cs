using System.Buffers.Binary;
using XtcpEpoll.Loop.Dumps;
using XtcpEpoll.Netlink.Native;
using XtcpEpoll.Netlink.Requests;
using XtcpEpoll.Tests.Netlink;

namespace XtcpEpoll.Tests.Loop.Dumps;

/// <summary>One request as the kernel would read it from a <see cref="RequestBuffer"/>.</summary>
internal readonly record struct SentRequest(ushort Type, bool Dump, uint Sequence, byte Family, uint States, ulong Cookie);

/// <summary>Synthetic sock_diag replies for the dump state machine, and the requests it wrote, decoded.</summary>
internal static class DumpWire
{
    public const byte Established = TcpState.Established, Listen = TcpState.Listen;

    /// <summary>One datagram with one established socket per cookie (compat reply type 18, multipart).</summary>
    public static byte[] Sockets(uint seq, params ulong[] cookies) => Batch(seq, Established, 0, false, cookies);

    /// <summary>As <see cref="Sockets"/>, listening sockets.</summary>
    public static byte[] Listeners(uint seq, params ulong[] cookies) => Batch(seq, Listen, 0, false, cookies);

    /// <summary>As <see cref="Sockets"/>, flagged NLM_F_DUMP_INTR (the table changed under the dump).</summary>
    public static byte[] Interrupted(uint seq, params ulong[] cookies) => Batch(seq, Established, NetlinkConstants.NLM_F_DUMP_INTR, false, cookies);

    /// <summary>The last batch of a dump: established sockets, then NLMSG_DONE in the same datagram.</summary>
    public static byte[] SocketsThenDone(uint seq, params ulong[] cookies) => Batch(seq, Established, 0, true, cookies);

    /// <summary>The last batch of a walk of the listening table.</summary>
    public static byte[] ListenersThenDone(uint seq, params ulong[] cookies) => Batch(seq, Listen, 0, true, cookies);

    private static byte[] Batch(uint seq, byte state, ushort flags, bool done, ulong[] cookies)
    {
        var datagram = new DatagramBuilder();
        foreach (var cookie in cookies)
            datagram.Message(NetlinkConstants.TCPDIAG_GETSOCK, (ushort)(NetlinkConstants.NLM_F_MULTI | flags), seq, Message(NetlinkConstants.AF_INET, state, cookie));
        if (done) datagram.Done(seq);
        return datagram.ToArray();
    }

    public static byte[] Done(uint seq) => new DatagramBuilder().Done(seq).ToArray();

    /// <summary>NLMSG_ERROR with -<paramref name="errno"/> (a refused request, or a lookup that found nothing).</summary>
    public static byte[] Error(uint seq, int errno) => new DatagramBuilder().Error(seq, -errno).ToArray();

    /// <summary>The answer to an exact lookup that found its socket (type 20, not multipart).</summary>
    public static byte[] LookupFound(uint seq, ulong cookie, byte state = Listen, byte family = NetlinkConstants.AF_INET, byte timer = 0)
    {
        var datagram = new DatagramBuilder();
        datagram.Message(NetlinkConstants.SOCK_DIAG_BY_FAMILY, 0, seq, Message(family, state, cookie, timer));
        return datagram.ToArray();
    }

    /// <summary>One datagram of a walk: sockets of the given states (state, cookie), then DONE if asked.</summary>
    public static byte[] Walk(uint seq, bool done, params (byte State, ulong Cookie)[] sockets)
    {
        var datagram = new DatagramBuilder();
        foreach (var (state, cookie) in sockets)
            datagram.Message(NetlinkConstants.TCPDIAG_GETSOCK, NetlinkConstants.NLM_F_MULTI, seq, Message(NetlinkConstants.AF_INET, state, cookie));
        if (done) datagram.Done(seq);
        return datagram.ToArray();
    }

    /// <summary>inet_diag_msg for 127.0.0.1:port (port from the cookie) in <paramref name="state"/>.</summary>
    private static byte[] Message(byte family, byte state, ulong cookie, byte timer = 0)
    {
        var msg = new byte[NetlinkConstants.InetDiagMsgSize];
        msg[WireOffsets.MsgFamily] = family;
        msg[WireOffsets.MsgState] = state;
        msg[WireOffsets.MsgTimer] = timer;
        var id = msg.AsSpan(WireOffsets.MsgId);
        BinaryPrimitives.WriteUInt16BigEndian(id.Slice(WireOffsets.IdSourcePort), (ushort)(1000 + cookie % 50000));
        id[WireOffsets.IdSource] = 127; id[WireOffsets.IdSource + 3] = 1;
        BinaryPrimitives.WriteUInt64LittleEndian(id.Slice(WireOffsets.IdCookie), cookie);
        return msg;
    }

    /// <summary>The messages written into the lane's request buffer, in order (one sendmsg).</summary>
    public static List<SentRequest> Sent(DumpContext context)
    {
        var bytes = context.Requests.Written;
        var list = new List<SentRequest>();
        int offset = 0;
        while (offset < bytes.Length)
        {
            var message = bytes.Slice(offset);
            int length = (int)BinaryPrimitives.ReadUInt32LittleEndian(message);
            ushort type = BinaryPrimitives.ReadUInt16LittleEndian(message.Slice(4));
            ushort flags = BinaryPrimitives.ReadUInt16LittleEndian(message.Slice(6));
            uint seq = BinaryPrimitives.ReadUInt32LittleEndian(message.Slice(8));
            var body = message.Slice(NetlinkConstants.NlMsgHdrSize);
            bool dump = (flags & NetlinkConstants.NLM_F_DUMP) == NetlinkConstants.NLM_F_DUMP;
            list.Add(type == NetlinkConstants.TCPDIAG_GETSOCK
                ? new SentRequest(type, dump, seq, body[WireOffsets.CompatFamily], BinaryPrimitives.ReadUInt32LittleEndian(body.Slice(WireOffsets.CompatStates)), 0)
                : new SentRequest(type, dump, seq, body[WireOffsets.V2Family], BinaryPrimitives.ReadUInt32LittleEndian(body.Slice(WireOffsets.V2States)),
                    BinaryPrimitives.ReadUInt64LittleEndian(body.Slice(WireOffsets.V2Id + WireOffsets.IdCookie))));
            offset += length;
        }
        return list;
    }
}
