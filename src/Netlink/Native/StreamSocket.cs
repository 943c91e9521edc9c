using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace XtcpEpoll.Netlink.Native;

/// <summary>
/// Non-blocking calls on a stream socket's <see cref="OwnedFd"/>, TCP or unix: accept, receive, send, close.
/// Constructing any System.Net.Sockets.Socket starts .NET's socket engine thread (+1 thread for the whole
/// process lifetime); the metrics endpoint and the control socket drive their fds from their own epoll loops,
/// so raw calls keep the thread count where it is. Every call returns at once: a result, or -errno
/// (EAGAIN = nothing to do until epoll says so); EINTR is retried here.
/// </summary>
public static unsafe class StreamSocket
{
    /// <summary>
    /// The next connection of a listening socket's backlog, non-blocking itself; null with <paramref name="errno"/>
    /// set when there is none (EAGAIN) or accept failed (EMFILE, ENFILE, ENOBUFS, ECONNABORTED...).
    /// </summary>
    public static OwnedFd? TryAccept(OwnedFd listener, out int errno)
    {
        using var fd = listener.Borrow();
        while (true)
        {
            var client = OwnedFd.FromResult(accept4(fd.Fd, null, null, SOCK_CLOEXEC | SOCK_NONBLOCK), out errno);
            if (client != null || errno != EINTR) return client;
        }
    }

    /// <summary>Bytes read (0 = the peer closed its side), or -errno (-EAGAIN: nothing buffered now).</summary>
    public static int Receive(OwnedFd socket, Span<byte> buffer)
    {
        using var fd = socket.Borrow();
        fixed (byte* p = buffer)
        {
            while (true)
            {
                long n = recv(fd.Fd, p, (size_t)(ulong)buffer.Length, MSG_DONTWAIT);
                if (n >= 0) return (int)n;
                var errno = Errno.Last;
                if (errno != EINTR) return -errno;
            }
        }
    }

    /// <summary>Bytes the kernel took (possibly fewer than offered), or -errno (-EAGAIN: send buffer full).</summary>
    public static int Send(OwnedFd socket, ReadOnlySpan<byte> data)
    {
        using var fd = socket.Borrow();
        fixed (byte* p = data)
        {
            while (true)
            {
                // MSG_NOSIGNAL: a peer that has gone away is EPIPE here, not a SIGPIPE for the process.
                long n = send(fd.Fd, p, (size_t)(ulong)data.Length, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (n >= 0) return (int)n;
                var errno = Errno.Last;
                if (errno != EINTR) return -errno;
            }
        }
    }

    /// <summary>
    /// Orderly close after a complete response: unread input is discarded first (close() with unread data
    /// makes Linux answer with RST, which can destroy the response before the client reads it), then FIN.
    /// </summary>
    public static void CloseGracefully(OwnedFd socket, Span<byte> scratch)
    {
        if (socket.TryBorrow(out var fd))
        {
            using (fd)
            {
                // Bounded: a client still streaming input is cut off with RST by the close below, as it should be.
                for (int i = 0; i < 4 && Receive(socket, scratch) > 0; i++) { }
                shutdown(fd.Fd, SHUT_WR);
            }
        }
        socket.Dispose();
    }

    /// <summary>
    /// Abortive close (SO_LINGER 0: RST): for a client that stopped reading, so the response left in the send
    /// buffer is freed now instead of staying in an orphaned socket the kernel keeps probing for minutes.
    /// </summary>
    public static void Abort(OwnedFd socket)
    {
        if (socket.TryBorrow(out var fd))
        {
            using (fd)
            {
                var abort = new linger { l_onoff = 1, l_linger = 0 };
                setsockopt(fd.Fd, SOL_SOCKET, SO_LINGER, &abort, sizeof(linger));
            }
        }
        socket.Dispose();
    }
}
