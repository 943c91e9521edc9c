using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace XtcpEpoll.Netlink.Native;

/// <summary>
/// Raw NETLINK_SOCK_DIAG sockets (.NET's Socket refuses AF_NETLINK). All calls return a count or
/// -errno instead of throwing, so the epoll loop can count failures without exceptions.
/// </summary>
public static unsafe class NetlinkSocket
{
    /// <summary>
    /// socket(AF_NETLINK, SOCK_RAW|SOCK_NONBLOCK|SOCK_CLOEXEC, NETLINK_SOCK_DIAG) + bind (kernel picks the
    /// port id). The socket belongs to the network namespace of the CALLING THREAD, so call this on the
    /// thread that did setns. Returns the fd or -errno.
    /// </summary>
    public static int OpenSockDiag()
    {
        int fd = socket(NetlinkConstants.AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NetlinkConstants.NETLINK_SOCK_DIAG);
        if (fd < 0)
            return -errno;
        var address = new SockaddrNl { Family = NetlinkConstants.AF_NETLINK };
        if (bind(fd, (sockaddr*)&address, (socklen_t)(uint)sizeof(SockaddrNl)) < 0)
        {
            int error = errno;
            close(fd);
            return -error;
        }
        return fd;
    }

    /// <summary>Sends one request datagram to the kernel (port id 0). Returns bytes sent or -errno.</summary>
    public static int Send(int fd, ReadOnlySpan<byte> datagram)
    {
        var kernel = new SockaddrNl { Family = NetlinkConstants.AF_NETLINK };
        fixed (byte* p = datagram)
        {
            while (true)
            {
                long sent = sendto(fd, p, (size_t)(ulong)datagram.Length, MSG_DONTWAIT, (sockaddr*)&kernel, (socklen_t)(uint)sizeof(SockaddrNl));
                if (sent >= 0)
                    return (int)sent;
                int error = errno;
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
    public static int Receive(int fd, Span<byte> buffer)
    {
        long received = ReceiveFullLength(fd, buffer);
        return (int)Math.Min(received, int.MaxValue);
    }

    /// <summary>As <see cref="Receive(int, Span{byte})"/>, but never returns more than buffer.Length:
    /// <paramref name="truncated"/> tells that the datagram was larger than the buffer and was cut.</summary>
    public static int Receive(int fd, Span<byte> buffer, out bool truncated)
    {
        long received = ReceiveFullLength(fd, buffer);
        truncated = received > buffer.Length;
        return (int)Math.Min(received, buffer.Length);
    }

    /// <summary>recv with MSG_TRUNC: the datagram's full length (even when cut), or -errno.</summary>
    private static long ReceiveFullLength(int fd, Span<byte> buffer)
    {
        fixed (byte* p = buffer)
        {
            while (true)
            {
                long received = recv(fd, p, (size_t)(ulong)buffer.Length, MSG_DONTWAIT | MSG_TRUNC);
                if (received >= 0)
                    return received;
                int error = errno;
                if (error != EINTR)
                    return -error;
            }
        }
    }

    /// <summary>Sets SO_RCVBUF (the kernel doubles it). Returns 0 or -errno.</summary>
    public static int SetReceiveBuffer(int fd, int bytes)
    {
        int value = bytes;
        return setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &value, (socklen_t)(uint)sizeof(int)) < 0 ? -errno : 0;
    }

    /// <summary>close(fd). Returns 0 or -errno.</summary>
    public static int Close(int fd) => close(fd) < 0 ? -errno : 0;
}
