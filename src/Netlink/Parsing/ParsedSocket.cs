using System.Diagnostics.CodeAnalysis;

namespace XtcpEpoll.Netlink.Parsing;

/// <summary>Which optional attributes a parsed socket carried (bit = 1 &lt;&lt; INET_DIAG_* id).</summary>
[Flags]
public enum AttributeSet : uint
{
    None = 0,
    MemInfo = 1u << 1,      // INET_DIAG_MEMINFO
    Info = 1u << 2,         // INET_DIAG_INFO (tcp_info)
    VegasInfo = 1u << 3,    // INET_DIAG_VEGASINFO
    Cong = 1u << 4,         // INET_DIAG_CONG
    Tos = 1u << 5,          // INET_DIAG_TOS
    TClass = 1u << 6,       // INET_DIAG_TCLASS
    SkMemInfo = 1u << 7,    // INET_DIAG_SKMEMINFO
    Shutdown = 1u << 8,     // INET_DIAG_SHUTDOWN
    DctcpInfo = 1u << 9,    // INET_DIAG_DCTCPINFO
    Mark = 1u << 15,        // INET_DIAG_MARK
    BbrInfo = 1u << 16,     // INET_DIAG_BBRINFO
    ClassId = 1u << 17,     // INET_DIAG_CLASS_ID
    CgroupId = 1u << 21,    // INET_DIAG_CGROUP_ID
    SockOpt = 1u << 22,     // INET_DIAG_SOCKOPT
}

/// <summary>xtcp2's CongestionAlgorithm enum values (proto field 1301).</summary>
public enum CongestionAlgorithm : byte
{
    Unspecified = 0, Cubic = 1, Dctcp = 2, Vegas = 3, Prague = 4, Bbr1 = 5, Bbr2 = 6, Bbr3 = 7,
}

/// <summary>
/// Everything one inet_diag response message says about one TCP socket. A plain value type with no
/// references: the parser fills it in place, so parsing allocates nothing, and nothing in it points
/// into the receive buffer that the next recv overwrites (xtcp2's address-aliasing bug).
/// Field names follow the proto field names of xtcp_flat_record.v1 (see proto/), so the mapping to
/// the record is mechanical. Widths are the kernel's; the record widens them.
/// </summary>
public unsafe struct ParsedSocket
{
    // ---- nlmsghdr
    /// <summary>18 (TCPDIAG_GETSOCK compat reply) or 20 (SOCK_DIAG_BY_FAMILY).</summary>
    public ushort MessageType;
    public uint Sequence;

    // ---- struct inet_diag_msg
    public byte Family;
    public byte State;
    public byte Timer;
    public byte Retrans;
    public ushort SourcePort;        // host order
    public ushort DestinationPort;   // host order
    /// <summary>The kernel's 16 network-order address bytes: for AF_INET the address is the first 4, the rest zero.</summary>
    public fixed byte Source[16];
    public fixed byte Destination[16];
    public uint Interface;
    public ulong Cookie;             // cookie[1] << 32 | cookie[0]
    public uint Expires;
    public uint RQueue;
    public uint WQueue;
    public uint Uid;
    public uint Inode;

    /// <summary>Attributes present in this message.</summary>
    public AttributeSet Present;

    // ---- INET_DIAG_MEMINFO
    public uint MemInfoRmem, MemInfoWmem, MemInfoFmem, MemInfoTmem;

    // ---- INET_DIAG_INFO: struct tcp_info. TcpInfoLength is the payload length the kernel sent;
    // fields past it are zero (older kernels send shorter structs).
    public ushort TcpInfoLength;
    public TcpInfo Tcp;

    // ---- INET_DIAG_CONG: name kept as bytes (max 16, NUL-free) and as xtcp2's enum.
    public fixed byte CongestionName[16];
    public byte CongestionNameLength;
    public CongestionAlgorithm CongestionAlgorithm;

    // ---- INET_DIAG_TOS / INET_DIAG_TCLASS
    public byte TypeOfService;
    public byte TrafficClass;

    // ---- INET_DIAG_SKMEMINFO (SK_MEMINFO_* order)
    public uint SkMemInfoRmemAlloc, SkMemInfoRcvBuf, SkMemInfoWmemAlloc, SkMemInfoSndBuf, SkMemInfoFwdAlloc,
        SkMemInfoWmemQueued, SkMemInfoOptmem, SkMemInfoBacklog, SkMemInfoDrops;

    // ---- INET_DIAG_SHUTDOWN
    public byte ShutdownState;

    // ---- INET_DIAG_VEGASINFO: struct tcpvegas_info
    public uint VegasInfoEnabled, VegasInfoRttCnt, VegasInfoRtt, VegasInfoMinRtt;

    // ---- INET_DIAG_DCTCPINFO: struct tcp_dctcp_info
    public ushort DctcpInfoEnabled, DctcpInfoCeState;
    public uint DctcpInfoAlpha, DctcpInfoAbEcn, DctcpInfoAbTot;

    // ---- INET_DIAG_BBRINFO: struct tcp_bbr_info
    public uint BbrInfoBwLo, BbrInfoBwHi, BbrInfoMinRtt, BbrInfoPacingGain, BbrInfoCwndGain;

    // ---- INET_DIAG_CLASS_ID, INET_DIAG_SOCKOPT, INET_DIAG_CGROUP_ID, INET_DIAG_MARK
    public uint ClassId;
    public ushort SockOpt;
    public ulong CGroup;
    public uint Mark;

    /// <summary>Source address as a span of 4 (IPv4) or 16 (IPv6) bytes.</summary>
    [UnscopedRef]
    public ReadOnlySpan<byte> SourceAddress => MemoryMarshal_CreateSpan(ref Source[0], Family == 2 ? 4 : 16);

    /// <summary>Destination address as a span of 4 (IPv4) or 16 (IPv6) bytes.</summary>
    [UnscopedRef]
    public ReadOnlySpan<byte> DestinationAddress => MemoryMarshal_CreateSpan(ref Destination[0], Family == 2 ? 4 : 16);

    /// <summary>
    /// The kernel's whole 16-byte idiag_src field (IPv4: the address then 12 zero bytes), as xtcp2 records it.
    /// </summary>
    [UnscopedRef]
    public ReadOnlySpan<byte> SourceField => MemoryMarshal_CreateSpan(ref Source[0], 16);

    /// <summary>The kernel's whole 16-byte idiag_dst field (see <see cref="SourceField"/>).</summary>
    [UnscopedRef]
    public ReadOnlySpan<byte> DestinationField => MemoryMarshal_CreateSpan(ref Destination[0], 16);

    [UnscopedRef]
    public ReadOnlySpan<byte> CongestionNameBytes => MemoryMarshal_CreateSpan(ref CongestionName[0], CongestionNameLength);

    private static ReadOnlySpan<byte> MemoryMarshal_CreateSpan(ref byte first, int length)
        => System.Runtime.InteropServices.MemoryMarshal.CreateReadOnlySpan(ref first, length);
}

/// <summary>
/// struct tcp_info (linux/tcp.h), every field up to the newest layout, decoded field by field (not
/// overlaid) so a short struct from an older kernel leaves the tail zero. Names follow the proto's
/// tcp_info_* fields; the AccECN tail (Linux 6.18+) has no xtcp2 field.
/// </summary>
public struct TcpInfo
{
    public byte State, CaState, Retransmits, Probes, Backoff, Options;
    public byte SendScale, RcvScale;                 // tcpi_snd_wscale:4, tcpi_rcv_wscale:4
    public byte DeliveryRateAppLimited;              // :1
    public byte FastOpenClientFailed;                // :2
    public uint Rto, Ato, SndMss, RcvMss, Unacked, Sacked, Lost, Retrans, Fackets;
    public uint LastDataSent, LastAckSent, LastDataRecv, LastAckRecv;
    public uint Pmtu, RcvSsthresh, Rtt, RttVar, SndSsthresh, SndCwnd, AdvMss, Reordering;
    public uint RcvRtt, RcvSpace, TotalRetrans;
    public ulong PacingRate, MaxPacingRate, BytesAcked, BytesReceived;
    public uint SegsOut, SegsIn, NotSentBytes, MinRtt, DataSegsIn, DataSegsOut;
    public ulong DeliveryRate, BusyTime, RwndLimited, SndbufLimited;
    public uint Delivered, DeliveredCe;
    public ulong BytesSent, BytesRetrans;
    public uint DsackDups, ReordSeen, RcvOoopack, SndWnd, RcvWnd, Rehash;
    public ushort TotalRto, TotalRtoRecoveries;
    public uint TotalRtoTime;
    // AccECN counters (Linux 6.18+)
    public uint ReceivedCe, DeliveredE1Bytes, DeliveredE0Bytes, DeliveredCeBytes, ReceivedE1Bytes, ReceivedE0Bytes, ReceivedCeBytes;
    public ushort AccecnFailMode, AccecnOptSeen;
}
