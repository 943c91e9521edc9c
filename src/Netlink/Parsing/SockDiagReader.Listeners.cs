using XtcpEpoll.Netlink.Native;
using XtcpEpoll.Netlink.Requests;
using static XtcpEpoll.Netlink.Native.NetlinkConstants;
using static XtcpEpoll.Netlink.Parsing.Wire;

namespace XtcpEpoll.Netlink.Parsing;

public ref partial struct SockDiagReader
{
    /// <summary>
    /// Header-only scan for LISTEN sockets: appends the lookup key of each one found in the datagram to
    /// <paramref name="keys"/> from index <paramref name="count"/> and returns the new count. Keys that do
    /// not fit are counted but not stored, so a return value above keys.Length means "too many to track".
    /// Damaged messages end the scan; the full parse of the same datagram counts the damage.
    /// </summary>
    public static int CollectListeners(ReadOnlySpan<byte> datagram, Span<SocketKey> keys, int count)
    {
        int offset = 0;
        while (NextMessage(datagram, ref offset, out var message, out _) == HeaderStep.Message)
        {
            ushort type = U16(message, 4);
            if (type != SOCK_DIAG_BY_FAMILY && type != TCPDIAG_GETSOCK) continue;
            if (message.Length < NlMsgHdrSize + InetDiagMsgSize) continue;
            var msg = message.Slice(NlMsgHdrSize, InetDiagMsgSize);
            if (msg[WireOffsets.MsgState] != TcpState.Listen) continue;
            byte family = msg[WireOffsets.MsgFamily];
            if (family != AF_INET && family != AF_INET6) continue;
            if (count < keys.Length)
            {
                var id = msg.Slice(WireOffsets.MsgId, InetDiagSockIdSize);
                ref var key = ref keys[count];
                key.Family = family;
                key.SourcePortBigEndian = U16(id, WireOffsets.IdSourcePort);
                key.Interface = U32(id, WireOffsets.IdInterface);
                key.Cookie = U64(id, WireOffsets.IdCookie);
                id.Slice(WireOffsets.IdSource, 16).CopyTo(key.Source);
            }
            count++;
        }
        return count;
    }
}
