using static XtcpEpoll.Netlink.Native.NetlinkConstants;
using static XtcpEpoll.Netlink.Parsing.Wire;
using XtcpEpoll.Netlink.Native;

namespace XtcpEpoll.Netlink.Parsing;

public ref partial struct SockDiagReader
{
    /// <summary>idiag_timer of a TIME-WAIT minisocket (inet_twsk_diag_fill): its substate may read FIN-WAIT-2.</summary>
    private const byte TimeWaitTimer = 3;

    /// <summary>
    /// Header-only count of the socket messages of a datagram that the kernel's "inuse" counters count
    /// (<see cref="TcpSocketCount"/>), added to <paramref name="sockets"/>; LISTEN ones are also added to
    /// <paramref name="listeners"/>. Left out: TIME-WAIT minisockets (state TIME_WAIT, or any substate with the
    /// TIME-WAIT timer: a FIN-WAIT-2 minisocket reads FIN_WAIT2), SYN_RECV (request sockets; a Fast Open child
    /// in SYN_RECV is hashed but left out too: counting too few only costs an extra walk) and CLOSE (in no table).
    /// Damaged messages end the scan, as in <see cref="NextKey"/>. No allocation.
    /// </summary>
    public static void CountHashed(ReadOnlySpan<byte> datagram, ref TcpSocketCount sockets, ref TcpSocketCount listeners)
    {
        int offset = 0;
        while (NextMessage(datagram, ref offset, out var message, out _) == HeaderStep.Message)
        {
            ushort type = U16(message, 4);
            if (type != SOCK_DIAG_BY_FAMILY && type != TCPDIAG_GETSOCK) continue;
            if (message.Length < NlMsgHdrSize + InetDiagMsgSize) continue;
            var msg = message.Slice(NlMsgHdrSize, InetDiagMsgSize);
            byte state = msg[WireOffsets.MsgState];
            if (state is TcpState.TimeWait or TcpState.SynRecv or TcpState.NewSynRecv or TcpState.Close or TcpState.BoundInactive) continue;
            if (msg[WireOffsets.MsgTimer] == TimeWaitTimer) continue;
            byte family = msg[WireOffsets.MsgFamily];
            if (family == AF_INET)
            {
                sockets.Inet++;
                if (state == TcpState.Listen) listeners.Inet++;
            }
            else if (family == AF_INET6)
            {
                sockets.Inet6++;
                if (state == TcpState.Listen) listeners.Inet6++;
            }
        }
    }
}
