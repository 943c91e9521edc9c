using System.Runtime.InteropServices;
using XtcpEpoll.Netlink.Native;
using static XtcpEpoll.Netlink.Native.NetlinkConstants;
using static XtcpEpoll.Netlink.Parsing.Wire;

namespace XtcpEpoll.Netlink.Parsing;

/// <summary>
/// Decodes one socket reply message (nlmsghdr + inet_diag_msg + rtattrs) into a ParsedSocket.
/// The message span is already known to lie wholly inside the datagram.
/// </summary>
internal static unsafe class SocketMessageDecoder
{
    private const int MessageFixedSize = NlMsgHdrSize + InetDiagMsgSize; // 88

    /// <summary>
    /// False (and a counted error) when the message is damaged; the socket is then garbage. Attributes
    /// whose bit is not in <paramref name="wanted"/> are framed (lengths still checked) but not decoded.
    /// </summary>
    public static bool TryDecode(ReadOnlySpan<byte> message, ref ParsedSocket socket, ParseErrorCounters? errors, AttributeSet wanted)
    {
        if (message.Length < MessageFixedSize)
        {
            errors?.Increment(ParseErrorKind.TruncatedInetDiagMsg);
            return false;
        }
        socket = default;
        socket.MessageType = U16(message, 4);
        socket.Sequence = U32(message, 8);
        DecodeInetDiagMsg(message.Slice(NlMsgHdrSize, InetDiagMsgSize), ref socket);

        int position = MessageFixedSize;
        while (message.Length - position >= RtAttrHeaderSize)
        {
            int length = U16(message, position);
            int type = U16(message, position + 2) & NLA_TYPE_MASK;
            if (length < RtAttrHeaderSize)
            {
                errors?.Increment(ParseErrorKind.AttributeLengthTooSmall);
                return false;
            }
            if (length > message.Length - position)
            {
                errors?.Increment(ParseErrorKind.TruncatedAttribute);
                return false;
            }
            var payload = message.Slice(position + RtAttrHeaderSize, length - RtAttrHeaderSize);
            bool isWanted = type >= 32 || ((uint)wanted >> type & 1) != 0;
            if (isWanted && !AttributeDecoder.TryDecode(type, payload, ref socket))
            {
                errors?.Increment(ParseErrorKind.AttributeTooShortForType);
                return false;
            }
            position += Align4(length);
        }
        return true;
    }

    private static void DecodeInetDiagMsg(ReadOnlySpan<byte> msg, ref ParsedSocket socket)
    {
        socket.Family = msg[WireOffsets.MsgFamily];
        socket.State = msg[WireOffsets.MsgState];
        socket.Timer = msg[WireOffsets.MsgTimer];
        socket.Retrans = msg[WireOffsets.MsgRetrans];
        var id = msg.Slice(WireOffsets.MsgId, InetDiagSockIdSize);
        socket.SourcePort = U16BigEndian(id, WireOffsets.IdSourcePort);
        socket.DestinationPort = U16BigEndian(id, WireOffsets.IdDestinationPort);
        id.Slice(WireOffsets.IdSource, 16).CopyTo(MemoryMarshal.CreateSpan(ref socket.Source[0], 16));
        id.Slice(WireOffsets.IdDestination, 16).CopyTo(MemoryMarshal.CreateSpan(ref socket.Destination[0], 16));
        socket.Interface = U32(id, WireOffsets.IdInterface);
        socket.Cookie = (ulong)U32(id, WireOffsets.IdCookie + 4) << 32 | U32(id, WireOffsets.IdCookie);
        socket.Expires = U32(msg, WireOffsets.MsgExpires);
        socket.RQueue = U32(msg, WireOffsets.MsgRQueue);
        socket.WQueue = U32(msg, WireOffsets.MsgWQueue);
        socket.Uid = U32(msg, WireOffsets.MsgUid);
        socket.Inode = U32(msg, WireOffsets.MsgInode);
    }
}
