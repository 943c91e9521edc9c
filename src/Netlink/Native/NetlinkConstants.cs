namespace XtcpEpoll.Netlink.Native;

/// <summary>
/// Netlink and sock_diag constants from linux/netlink.h, linux/sock_diag.h and linux/inet_diag.h
/// that Tmds.LibC does not carry.
/// </summary>
public static class NetlinkConstants
{
    public const int AF_NETLINK = 16;
    public const int NETLINK_SOCK_DIAG = 4;

    /// <summary>setsockopt(SOL_NETLINK, ...) option that joins a multicast group (linux/netlink.h).</summary>
    public const int NETLINK_ADD_MEMBERSHIP = 1;
    /// <summary>sock_diag multicast groups (linux/sock_diag.h): one message per destroyed TCP socket of the namespace.</summary>
    public const int SKNLGRP_INET_TCP_DESTROY = 1, SKNLGRP_INET6_TCP_DESTROY = 3;

    public const byte AF_UNSPEC = 0;
    public const byte AF_INET = 2;
    public const byte AF_INET6 = 10;
    public const byte IPPROTO_TCP = 6;

    // nlmsg_type values
    public const ushort NLMSG_NOOP = 1;
    public const ushort NLMSG_ERROR = 2;
    public const ushort NLMSG_DONE = 3;
    public const ushort NLMSG_OVERRUN = 4;
    /// <summary>inet_diag compat request/reply type (struct inet_diag_req, both families).</summary>
    public const ushort TCPDIAG_GETSOCK = 18;
    public const ushort SOCK_DIAG_BY_FAMILY = 20;

    // nlmsg_flags
    public const ushort NLM_F_REQUEST = 0x01;
    public const ushort NLM_F_MULTI = 0x02;
    public const ushort NLM_F_ACK = 0x04;
    public const ushort NLM_F_ECHO = 0x08;
    /// <summary>The dump was inconsistent because the table changed while it was being walked.</summary>
    public const ushort NLM_F_DUMP_INTR = 0x10;
    public const ushort NLM_F_DUMP_FILTERED = 0x20;
    public const ushort NLM_F_ROOT = 0x100;
    public const ushort NLM_F_MATCH = 0x200;
    public const ushort NLM_F_ATOMIC = 0x400;
    public const ushort NLM_F_DUMP = NLM_F_ROOT | NLM_F_MATCH;

    /// <summary>rtattr type bits that are flags, not part of the type (NLA_F_NESTED | NLA_F_NET_BYTEORDER).</summary>
    public const ushort NLA_TYPE_MASK = 0x3FFF;

    public const int NLMSG_ALIGNTO = 4;
    public const int NlMsgHdrSize = 16;
    public const int RtAttrHeaderSize = 4;
    public const int InetDiagSockIdSize = 48;
    public const int InetDiagReqV2Size = 56;
    public const int InetDiagReqCompatSize = 60;
    public const int InetDiagMsgSize = 72;
    public const int SockaddrNlSize = 12;

    /// <summary>NLMSG_ALIGN / RTA_ALIGN: round up to 4 bytes.</summary>
    public static int Align4(int length) => (length + NLMSG_ALIGNTO - 1) & ~(NLMSG_ALIGNTO - 1);
}

/// <summary>INET_DIAG_* attribute types (linux/inet_diag.h enum).</summary>
public static class InetDiagAttribute
{
    public const ushort None = 0;
    public const ushort MemInfo = 1;
    public const ushort Info = 2;
    public const ushort VegasInfo = 3;
    public const ushort Cong = 4;
    public const ushort Tos = 5;
    public const ushort TClass = 6;
    public const ushort SkMemInfo = 7;
    public const ushort Shutdown = 8;
    public const ushort DctcpInfo = 9;
    public const ushort Protocol = 10;
    public const ushort SkV6Only = 11;
    public const ushort Locals = 12;
    public const ushort Peers = 13;
    public const ushort Pad = 14;
    public const ushort Mark = 15;
    public const ushort BbrInfo = 16;
    public const ushort ClassId = 17;
    public const ushort Md5Sig = 18;
    public const ushort UlpInfo = 19;
    public const ushort SkBpfStorages = 20;
    public const ushort CgroupId = 21;
    public const ushort SockOpt = 22;
}

/// <summary>SK_MEMINFO_* indexes into the INET_DIAG_SKMEMINFO u32 array (linux/sock_diag.h).</summary>
public static class SkMemInfoIndex
{
    public const int RmemAlloc = 0, RcvBuf = 1, WmemAlloc = 2, SndBuf = 3, FwdAlloc = 4, WmemQueued = 5,
        Optmem = 6, Backlog = 7, Drops = 8;
    public const int Count = 9;
}

/// <summary>Kernel TCP states (include/net/tcp_states.h); idiag_states bit = 1 &lt;&lt; state.</summary>
public static class TcpState
{
    public const byte Established = 1, SynSent = 2, SynRecv = 3, FinWait1 = 4, FinWait2 = 5, TimeWait = 6,
        Close = 7, CloseWait = 8, LastAck = 9, Listen = 10, Closing = 11, NewSynRecv = 12, BoundInactive = 13;
}
