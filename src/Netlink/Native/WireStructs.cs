using System.Runtime.InteropServices;

namespace XtcpEpoll.Netlink.Native;

// Wire layouts (native byte order unless noted). The parser does not overlay these on received bytes
// (it reads field by field with bounds checks); they document the layout, size the requests, and let
// tests assert the offsets with Marshal.OffsetOf.

/// <summary>struct sockaddr_nl (12 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct SockaddrNl
{
    public ushort Family;    // AF_NETLINK
    public ushort Pad;
    public uint Pid;         // 0 = kernel / let the kernel assign on bind
    public uint Groups;
}

/// <summary>struct nlmsghdr (16 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct NlMsgHdr
{
    public uint Length;
    public ushort Type;
    public ushort Flags;
    public uint Sequence;
    public uint Pid;
}

/// <summary>struct inet_diag_sockid (48 bytes). Ports are big-endian; addresses network order.</summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct InetDiagSockId
{
    public ushort SourcePortBigEndian;
    public ushort DestinationPortBigEndian;
    public fixed uint Source[4];
    public fixed uint Destination[4];
    public uint Interface;
    public fixed uint Cookie[2];
}

/// <summary>struct inet_diag_req_v2 (56 bytes): body of a SOCK_DIAG_BY_FAMILY request.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct InetDiagReqV2
{
    public byte Family;
    public byte Protocol;
    public byte Ext;
    public byte Pad;
    public uint States;
    public InetDiagSockId Id;
}

/// <summary>struct inet_diag_req (60 bytes): legacy TCPDIAG_GETSOCK request (family ignored: both).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct InetDiagReqCompat
{
    public byte Family;
    public byte SourceLength;
    public byte DestinationLength;
    public byte Ext;
    public InetDiagSockId Id;
    public uint States;
    public uint Dbs;
}

/// <summary>struct inet_diag_msg (72 bytes): the fixed part of every socket reply.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct InetDiagMsg
{
    public byte Family;
    public byte State;
    public byte Timer;
    public byte Retrans;
    public InetDiagSockId Id;
    public uint Expires;
    public uint RQueue;
    public uint WQueue;
    public uint Uid;
    public uint Inode;
}

/// <summary>struct inet_diag_meminfo (INET_DIAG_MEMINFO, 16 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct InetDiagMemInfo
{
    public uint Rmem, Wmem, Fmem, Tmem;
}

/// <summary>struct tcpvegas_info (INET_DIAG_VEGASINFO, 16 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct TcpVegasInfo
{
    public uint Enabled, RttCnt, Rtt, MinRtt;
}

/// <summary>struct tcp_dctcp_info (INET_DIAG_DCTCPINFO, 16 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct TcpDctcpInfo
{
    public ushort Enabled, CeState;
    public uint Alpha, AbEcn, AbTot;
}

/// <summary>struct tcp_bbr_info (INET_DIAG_BBRINFO, 20 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct TcpBbrInfo
{
    public uint BwLo, BwHi, MinRtt, PacingGain, CwndGain;
}

/// <summary>Fixed wire offsets inside the messages (checked against the structs above by tests).</summary>
public static class WireOffsets
{
    // inet_diag_msg
    public const int MsgFamily = 0, MsgState = 1, MsgTimer = 2, MsgRetrans = 3, MsgId = 4;
    public const int MsgExpires = 52, MsgRQueue = 56, MsgWQueue = 60, MsgUid = 64, MsgInode = 68;
    // inet_diag_sockid (relative to its start)
    public const int IdSourcePort = 0, IdDestinationPort = 2, IdSource = 4, IdDestination = 20, IdInterface = 36, IdCookie = 40;
    // inet_diag_req_v2
    public const int V2Family = 0, V2Protocol = 1, V2Ext = 2, V2Pad = 3, V2States = 4, V2Id = 8;
    // inet_diag_req (compat)
    public const int CompatFamily = 0, CompatSourceLength = 1, CompatDestinationLength = 2, CompatExt = 3,
        CompatId = 4, CompatStates = 52, CompatDbs = 56;
}
