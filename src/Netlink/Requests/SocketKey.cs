using System.Runtime.InteropServices;

namespace XtcpEpoll.Netlink.Requests;

/// <summary>
/// What the kernel needs to find one socket again without walking any table: family, local address and
/// port, bound interface and cookie, copied byte for byte from the inet_diag_sockid of a dump reply.
/// A listener has no peer, so the peer half of the sockid stays zero in the lookup.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public struct SocketKey
{
    public byte Family;
    /// <summary>Network byte order, as in inet_diag_sockid.</summary>
    public ushort SourcePortBigEndian;
    public uint Interface;
    public ulong Cookie;
    /// <summary>16 bytes of idiag_src in network order (IPv4 uses the first 4).</summary>
    public SourceAddress Source;

    [System.Runtime.CompilerServices.InlineArray(16)]
    public struct SourceAddress
    {
        private byte _element;
    }
}
