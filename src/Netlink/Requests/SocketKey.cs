using System.Runtime.InteropServices;

namespace XtcpEpoll.Netlink.Requests;

/// <summary>
/// What the kernel needs to find one socket again without walking any table: the whole inet_diag_sockid of a
/// dump reply (family, both addresses and ports, bound interface, cookie), copied byte for byte, and the state
/// the dump saw it in. An exact request (<see cref="DumpRequestBuilder.WriteExactV2"/>) with this key is a hash
/// lookup: established-table by the 4-tuple (a listener's peer half is zero, so it falls through to the
/// listening table by local address and port), then the cookie must match or the answer is ENOENT.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public struct SocketKey
{
    public byte Family;
    /// <summary>TCP state when the dump saw the socket (listeners are looked up, and missed, differently).</summary>
    public byte State;
    /// <summary>Network byte order, as in inet_diag_sockid.</summary>
    public ushort SourcePortBigEndian;
    /// <summary>Network byte order; zero for a listener.</summary>
    public ushort DestinationPortBigEndian;
    public uint Interface;
    public ulong Cookie;
    /// <summary>16 bytes of idiag_src in network order (IPv4 uses the first 4).</summary>
    public AddressBytes Source;
    /// <summary>16 bytes of idiag_dst in network order (IPv4 uses the first 4); zero for a listener.</summary>
    public AddressBytes Destination;

    [System.Runtime.CompilerServices.InlineArray(16)]
    public struct AddressBytes
    {
        private byte _element;
    }
}
