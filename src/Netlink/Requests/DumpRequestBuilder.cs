using System.Buffers.Binary;
using System.Runtime.InteropServices;
using XtcpEpoll.Netlink.Native;
using static XtcpEpoll.Netlink.Native.NetlinkConstants;

namespace XtcpEpoll.Netlink.Requests;

/// <summary>
/// Writes inet_diag dump requests into a caller-provided span (no allocation; the loop rewrites the
/// sequence number per poll). Native byte order: the request is read by the local kernel.
/// </summary>
public static class DumpRequestBuilder
{
    /// <summary>nlmsghdr + inet_diag_req_v2.</summary>
    public const int V2Size = NlMsgHdrSize + InetDiagReqV2Size;           // 72
    /// <summary>nlmsghdr + struct inet_diag_req.</summary>
    public const int CompatSize = NlMsgHdrSize + InetDiagReqCompatSize;   // 76

    /// <summary>
    /// SOCK_DIAG_BY_FAMILY dump of every TCP socket of one family (AF_INET or AF_INET6) whose state bit
    /// is in <paramref name="states"/>. Returns the bytes written (72).
    /// </summary>
    public static int WriteV2(Span<byte> dest, byte family, uint states, byte idiagExt, uint sequence)
    {
        if (family != AF_INET && family != AF_INET6)
            throw new ArgumentOutOfRangeException(nameof(family), family, "family must be AF_INET (2) or AF_INET6 (10)");
        V2Body(Header(dest, V2Size, SOCK_DIAG_BY_FAMILY, sequence), family, states, idiagExt);
        return V2Size;
    }

    /// <summary>
    /// Legacy TCPDIAG_GETSOCK dump (struct inet_diag_req, family 0): the kernel answers for IPv4 and
    /// IPv6 in one dump with message type 18. Returns the bytes written (76).
    /// </summary>
    public static int WriteCompat(Span<byte> dest, uint states, byte idiagExt, uint sequence)
    {
        var message = Header(dest, CompatSize, TCPDIAG_GETSOCK, sequence);
        var body = message.Slice(NlMsgHdrSize, InetDiagReqCompatSize);
        body[WireOffsets.CompatFamily] = AF_UNSPEC;
        body[WireOffsets.CompatExt] = idiagExt;
        BinaryPrimitives.WriteUInt32LittleEndian(body.Slice(WireOffsets.CompatStates), states);
        return CompatSize;
    }

    /// <summary>
    /// SOCK_DIAG_BY_FAMILY request WITHOUT NLM_F_DUMP for the one socket <paramref name="key"/> names: the
    /// kernel answers with a single reply (or an NLMSG_ERROR, ENOENT when the socket is gone or its cookie
    /// differs) found by a hash lookup, with the same attributes a dump would carry. Used for every socket a
    /// namespace's last walk found, between walks. Returns the bytes written (72).
    /// </summary>
    public static int WriteExactV2(Span<byte> dest, in SocketKey key, byte idiagExt, uint sequence)
    {
        if (key.Family != AF_INET && key.Family != AF_INET6)
            throw new ArgumentOutOfRangeException(nameof(key), key.Family, "family must be AF_INET (2) or AF_INET6 (10)");
        var body = V2Body(Header(dest, V2Size, SOCK_DIAG_BY_FAMILY, sequence, NLM_F_REQUEST), key.Family, TcpStates.All, idiagExt);
        var id = body.Slice(WireOffsets.V2Id, InetDiagSockIdSize);
        MemoryMarshal.Write(id.Slice(WireOffsets.IdSourcePort), key.SourcePortBigEndian);
        MemoryMarshal.Write(id.Slice(WireOffsets.IdDestinationPort), key.DestinationPortBigEndian);
        ((ReadOnlySpan<byte>)key.Source).CopyTo(id.Slice(WireOffsets.IdSource, 16));
        ((ReadOnlySpan<byte>)key.Destination).CopyTo(id.Slice(WireOffsets.IdDestination, 16));
        MemoryMarshal.Write(id.Slice(WireOffsets.IdInterface), key.Interface);
        MemoryMarshal.Write(id.Slice(WireOffsets.IdCookie), key.Cookie);
        return V2Size;
    }

    /// <summary>Fills inet_diag_req_v2 after the header (the header's Clear zeroed pad and sockid).</summary>
    private static Span<byte> V2Body(Span<byte> message, byte family, uint states, byte idiagExt)
    {
        var body = message.Slice(NlMsgHdrSize, InetDiagReqV2Size);
        body[WireOffsets.V2Family] = family;
        body[WireOffsets.V2Protocol] = IPPROTO_TCP;
        body[WireOffsets.V2Ext] = idiagExt;
        BinaryPrimitives.WriteUInt32LittleEndian(body.Slice(WireOffsets.V2States), states);
        return body;
    }

    /// <summary>Overwrites the sequence number of a request already written (bytes 8..12).</summary>
    public static void SetSequence(Span<byte> request, uint sequence)
        => BinaryPrimitives.WriteUInt32LittleEndian(request.Slice(8, 4), sequence);

    private static Span<byte> Header(Span<byte> dest, int size, ushort type, uint sequence, ushort flags = NLM_F_REQUEST | NLM_F_DUMP)
    {
        if (dest.Length < size)
            throw new ArgumentException($"request needs {size} bytes, span has {dest.Length}", nameof(dest));
        var message = dest.Slice(0, size);
        message.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(message, (uint)size);
        BinaryPrimitives.WriteUInt16LittleEndian(message.Slice(4), type);
        BinaryPrimitives.WriteUInt16LittleEndian(message.Slice(6), flags);
        BinaryPrimitives.WriteUInt32LittleEndian(message.Slice(8), sequence);
        // nlmsg_pid 0: addressed to the kernel.
        return message;
    }
}
