using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace XtcpEpoll.Netlink.Native;

/// <summary>
/// A non-blocking TCP listener and its connections as owned fds, through Tmds.LibC. Constructing any
/// System.Net.Sockets.Socket starts .NET's socket engine thread (+1 thread for the whole process lifetime);
/// the metrics endpoint drives these fds from its own epoll loop, so raw calls keep it at one thread.
/// Every call here returns at once: a result, or -errno (EAGAIN = nothing to do until epoll says so).
/// </summary>
public sealed unsafe class RawTcpListener : IDisposable
{
    private RawTcpListener(OwnedFd fd, IPEndPoint local)
    {
        Handle = fd;
        LocalEndPoint = local;
    }

    /// <summary>For <see cref="Epoll.Add"/> (readable = a connection is waiting in the backlog).</summary>
    public OwnedFd Handle { get; }

    public IPEndPoint LocalEndPoint { get; }

    /// <summary>socket + SO_REUSEADDR + bind + listen; IOException naming the address and errno on failure.</summary>
    public static RawTcpListener Listen(IPEndPoint endpoint, int backlog)
    {
        var v6 = endpoint.AddressFamily == AddressFamily.InterNetworkV6;
        var owned = OwnedFd.FromResult(socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), out int errno)
            ?? throw new IOException($"socket for {endpoint}: {Errno.Describe(errno)}");
        try
        {
            using (var lease = owned.Borrow())
            {
                int fd = lease.Fd;
                var one = 1;
                var zero = 0;
                setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(int));
                // "[::]:PORT" serves IPv4 too, like Go's ":PORT".
                if (v6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(int));
                var address = stackalloc byte[28];
                var length = WriteSockaddr(endpoint, new Span<byte>(address, 28));
                if (bind(fd, (sockaddr*)address, (uint)length) != 0) throw new IOException($"bind {endpoint}: {Errno.Describe(Errno.Last)}");
                if (listen(fd, backlog) != 0) throw new IOException($"listen {endpoint}: {Errno.Describe(Errno.Last)}");
                socklen_t actualLength = 28;
                if (getsockname(fd, (sockaddr*)address, &actualLength) != 0) throw new IOException($"getsockname: {Errno.Describe(Errno.Last)}");
                var port = BinaryPrimitives.ReadUInt16BigEndian(new ReadOnlySpan<byte>(address + 2, 2));
                return new RawTcpListener(owned, new IPEndPoint(endpoint.Address, port));
            }
        }
        catch
        {
            owned.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The next connection of the backlog, non-blocking itself; null with <paramref name="errno"/> set when
    /// there is none (EAGAIN) or accept failed (EMFILE, ENFILE, ENOBUFS, ECONNABORTED...).
    /// </summary>
    public OwnedFd? TryAccept(out int errno)
    {
        using var listener = Handle.Borrow();
        while (true)
        {
            var client = OwnedFd.FromResult(accept4(listener.Fd, null, null, SOCK_CLOEXEC | SOCK_NONBLOCK), out errno);
            if (client != null || errno != EINTR) return client;
        }
    }

    /// <summary>Bytes read (0 = the peer closed its side), or -errno (-EAGAIN: nothing buffered now).</summary>
    public static int Receive(OwnedFd client, Span<byte> buffer)
    {
        using var fd = client.Borrow();
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
    public static int Send(OwnedFd client, ReadOnlySpan<byte> data)
    {
        using var fd = client.Borrow();
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
    public static void CloseGracefully(OwnedFd client, Span<byte> scratch)
    {
        if (client.TryBorrow(out var fd))
        {
            using (fd)
            {
                // Bounded: a client still streaming input is cut off with RST by the close below, as it should be.
                for (int i = 0; i < 4 && Receive(client, scratch) > 0; i++) { }
                shutdown(fd.Fd, SHUT_WR);
            }
        }
        client.Dispose();
    }

    /// <summary>
    /// Abortive close (SO_LINGER 0: RST): for a client that stopped reading, so the response left in the send
    /// buffer is freed now instead of staying in an orphaned socket the kernel keeps probing for minutes.
    /// </summary>
    public static void Abort(OwnedFd client)
    {
        if (client.TryBorrow(out var fd))
        {
            using (fd)
            {
                var abort = new linger { l_onoff = 1, l_linger = 0 };
                setsockopt(fd.Fd, SOL_SOCKET, SO_LINGER, &abort, sizeof(linger));
            }
        }
        client.Dispose();
    }

    public void Dispose() => Handle.Dispose();

    private static int WriteSockaddr(IPEndPoint endpoint, Span<byte> destination)
    {
        destination.Clear();
        if (endpoint.AddressFamily == AddressFamily.InterNetworkV6)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(destination, (ushort)AF_INET6);
            BinaryPrimitives.WriteUInt16BigEndian(destination[2..], (ushort)endpoint.Port);
            endpoint.Address.TryWriteBytes(destination.Slice(8, 16), out _);
            BinaryPrimitives.WriteUInt32LittleEndian(destination[24..], (uint)endpoint.Address.ScopeId);
            return 28;
        }
        BinaryPrimitives.WriteUInt16LittleEndian(destination, (ushort)AF_INET);
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], (ushort)endpoint.Port);
        endpoint.Address.TryWriteBytes(destination.Slice(4, 4), out _);
        return 16;
    }
}
