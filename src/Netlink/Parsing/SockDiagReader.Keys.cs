using XtcpEpoll.Netlink.Native;
using XtcpEpoll.Netlink.Requests;
using static XtcpEpoll.Netlink.Native.NetlinkConstants;
using static XtcpEpoll.Netlink.Parsing.Wire;

namespace XtcpEpoll.Netlink.Parsing;

public ref partial struct SockDiagReader
{
    /// <summary>
    /// Header-only scan for lookup keys: from <paramref name="offset"/>, finds the next socket message of the
    /// datagram (type 18 or 20, AF_INET or AF_INET6) and copies its inet_diag_sockid and state into
    /// <paramref name="key"/>; false at the end of the datagram (or of its trustworthy part: damaged messages
    /// end the scan; the full parse of the same datagram counts the damage). No allocation.
    /// </summary>
    public static bool NextKey(ReadOnlySpan<byte> datagram, ref int offset, out SocketKey key)
    {
        key = default;
        while (NextMessage(datagram, ref offset, out var message, out _) == HeaderStep.Message)
        {
            ushort type = U16(message, 4);
            if (type != SOCK_DIAG_BY_FAMILY && type != TCPDIAG_GETSOCK) continue;
            if (message.Length < NlMsgHdrSize + InetDiagMsgSize) continue;
            var msg = message.Slice(NlMsgHdrSize, InetDiagMsgSize);
            byte family = msg[WireOffsets.MsgFamily];
            if (family != AF_INET && family != AF_INET6) continue;
            var id = msg.Slice(WireOffsets.MsgId, InetDiagSockIdSize);
            key.Family = family;
            key.State = msg[WireOffsets.MsgState];
            key.SourcePortBigEndian = U16(id, WireOffsets.IdSourcePort);
            key.DestinationPortBigEndian = U16(id, WireOffsets.IdDestinationPort);
            key.Interface = U32(id, WireOffsets.IdInterface);
            key.Cookie = U64(id, WireOffsets.IdCookie);
            id.Slice(WireOffsets.IdSource, 16).CopyTo(key.Source);
            id.Slice(WireOffsets.IdDestination, 16).CopyTo(key.Destination);
            return true;
        }
        return false;
    }
}
