using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace XtcpEpoll.Netlink.Native;

/// <summary>
/// Raw NETLINK_SOCK_DIAG sockets (.NET's Socket refuses AF_NETLINK). Sends and receives return a count or
/// -errno instead of throwing, so the epoll loop can count failures without exceptions; they borrow the
/// socket's <see cref="OwnedFd"/> for the call (no allocation), so a closed socket is never written to.
/// </summary>
public static unsafe class NetlinkSocket
{
    /// <summary>
    /// socket(AF_NETLINK, SOCK_RAW|SOCK_NONBLOCK|SOCK_CLOEXEC, NETLINK_SOCK_DIAG) + bind (kernel picks the
    /// port id). The socket belongs to the network namespace of the CALLING THREAD, so call this on the
    /// thread that did setns. Null, with the errno, on failure.
    /// </summary>
    public static OwnedFd? OpenSockDiag(out int errno)
    {
        var socketFd = OwnedFd.FromResult(socket(NetlinkConstants.AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NetlinkConstants.NETLINK_SOCK_DIAG), out errno);
        if (socketFd == null)
            return null;
        var address = new SockaddrNl { Family = NetlinkConstants.AF_NETLINK };
        using (var fd = socketFd.Borrow())
            errno = bind(fd.Fd, (sockaddr*)&address, (uint)sizeof(SockaddrNl)) == 0 ? 0 : Errno.Last;
        if (errno == 0)
            return socketFd;
        socketFd.Dispose();
        return null;
    }

    /// <summary>
    /// A NETLINK_SOCK_DIAG socket of the calling thread's namespace subscribed to both TCP destroy groups
    /// (SKNLGRP_INET_TCP_DESTROY, SKNLGRP_INET6_TCP_DESTROY): the kernel multicasts one inet_diag message
    /// (inet_diag_msg, INET_DIAG_PROTOCOL, INET_DIAG_INFO with the final tcp_info) for every full TCP socket of
    /// that namespace when it is freed. Non-blocking. Its receive buffer is raised to
    /// <paramref name="receiveBufferBytes"/> with SO_RCVBUFFORCE (CAP_NET_ADMIN; the kernel doubles it), else
    /// as far as SO_RCVBUF allows (net.core.rmem_max): a full buffer drops events (recv reports ENOBUFS once,
    /// <see cref="Drops"/> counts each). Null, with the errno, on failure (socket, bind or membership).
    /// </summary>
    public static OwnedFd? OpenDestroyEvents(int receiveBufferBytes, out int errno)
    {
        var socketFd = OpenSockDiag(out errno);
        if (socketFd == null)
            return null;
        using (var fd = socketFd.Borrow())
        {
            int size = receiveBufferBytes;
            if (setsockopt(fd.Fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, (uint)sizeof(int)) < 0)
                setsockopt(fd.Fd, SOL_SOCKET, SO_RCVBUF, &size, (uint)sizeof(int)); // best effort: capped by rmem_max
            foreach (int group in (ReadOnlySpan<int>)[NetlinkConstants.SKNLGRP_INET_TCP_DESTROY, NetlinkConstants.SKNLGRP_INET6_TCP_DESTROY])
            {
                int value = group;
                if (setsockopt(fd.Fd, SOL_NETLINK, NetlinkConstants.NETLINK_ADD_MEMBERSHIP, &value, (uint)sizeof(int)) < 0)
                {
                    errno = Errno.Last;
                    break;
                }
            }
        }
        if (errno == 0)
            return socketFd;
        socketFd.Dispose();
        return null;
    }

    /// <summary>
    /// Messages the kernel dropped on this socket because its receive buffer was full (sk_drops, from
    /// SO_MEMINFO): one per lost multicast message or unicast reply. Or -errno.
    /// </summary>
    public static long Drops(OwnedFd socket) => MemInfo(socket, SkMemInfoIndex.Drops);

    /// <summary>The socket's receive buffer limit in bytes (sk_rcvbuf, from SO_MEMINFO), or -errno.</summary>
    public static long ReceiveBufferLimit(OwnedFd socket) => MemInfo(socket, SkMemInfoIndex.RcvBuf);

    private static long MemInfo(OwnedFd socket, int index)
    {
        using var fd = socket.Borrow();
        uint* values = stackalloc uint[16];
        socklen_t length = 16 * sizeof(uint);
        if (getsockopt(fd.Fd, SOL_SOCKET, SO_MEMINFO, values, &length) < 0)
            return -Errno.Last;
        return (uint)length >= (uint)(index + 1) * sizeof(uint) ? values[index] : -EINVAL;
    }

    /// <summary>Sends one request datagram to the kernel (port id 0). Returns bytes sent or -errno.</summary>
    public static int Send(OwnedFd socket, ReadOnlySpan<byte> datagram)
    {
        var kernel = new SockaddrNl { Family = NetlinkConstants.AF_NETLINK };
        using var fd = socket.Borrow();
        fixed (byte* p = datagram)
        {
            while (true)
            {
                long sent = sendto(fd.Fd, p, (size_t)(ulong)datagram.Length, MSG_DONTWAIT, (sockaddr*)&kernel, (uint)sizeof(SockaddrNl));
                if (sent >= 0)
                    return (int)sent;
                int error = Errno.Last;
                if (error != EINTR)
                    return -error;
            }
        }
    }

    /// <summary>
    /// Receives one datagram without blocking. Returns its length, or -EAGAIN when nothing is queued, or
    /// another -errno (-ENOBUFS: the socket overflowed and the dump lost messages). A return LARGER than
    /// buffer.Length means the datagram was cut to the buffer (MSG_TRUNC reports the full size): the
    /// caller must treat that as a lost datagram and never slice past the buffer.
    /// </summary>
    public static int Receive(OwnedFd socket, Span<byte> buffer)
    {
        long received = ReceiveFullLength(socket, buffer);
        return (int)Math.Min(received, int.MaxValue);
    }

    /// <summary>As <see cref="Receive(OwnedFd, Span{byte})"/>, but never returns more than buffer.Length:
    /// <paramref name="truncated"/> tells that the datagram was larger than the buffer and was cut.</summary>
    public static int Receive(OwnedFd socket, Span<byte> buffer, out bool truncated)
    {
        long received = ReceiveFullLength(socket, buffer);
        truncated = received > buffer.Length;
        return (int)Math.Min(received, buffer.Length);
    }

    /// <summary>recv with MSG_TRUNC: the datagram's full length (even when cut), or -errno.</summary>
    private static long ReceiveFullLength(OwnedFd socket, Span<byte> buffer)
    {
        using var fd = socket.Borrow();
        fixed (byte* p = buffer)
        {
            while (true)
            {
                long received = recv(fd.Fd, p, (size_t)(ulong)buffer.Length, MSG_DONTWAIT | MSG_TRUNC);
                if (received >= 0)
                    return received;
                int error = Errno.Last;
                if (error != EINTR)
                    return -error;
            }
        }
    }

    /// <summary>Sets SO_RCVBUF (the kernel doubles it). Returns 0 or -errno.</summary>
    public static int SetReceiveBuffer(OwnedFd socket, int bytes)
    {
        using var fd = socket.Borrow();
        int value = bytes;
        return setsockopt(fd.Fd, SOL_SOCKET, SO_RCVBUF, &value, (uint)sizeof(int)) < 0 ? -Errno.Last : 0;
    }
}
