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
