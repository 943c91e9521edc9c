using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Tmds.Linux;
using XtcpEpoll.Netlink.Native;
using static Tmds.Linux.LibC;

namespace XtcpEpoll.Host.Native;

/// <summary>
/// A blocking TCP listener and its connections as owned fds, through Tmds.LibC. Constructing any
/// System.Net.Sockets.Socket starts .NET's socket engine thread (+1 thread for the whole process lifetime);
/// the metrics endpoint only ever does blocking I/O on its own thread, so raw calls keep it at one thread.
/// </summary>
internal sealed unsafe class RawTcpListener : IDisposable
{
    private readonly OwnedFd _fd;
    private volatile bool _stopped;

    private RawTcpListener(OwnedFd fd, IPEndPoint local)
    {
        _fd = fd;
        LocalEndPoint = local;
    }

    public IPEndPoint LocalEndPoint { get; }

    /// <summary>socket + SO_REUSEADDR + bind + listen; IOException naming the address and errno on failure.</summary>
    public static RawTcpListener Listen(IPEndPoint endpoint, int backlog)
    {
        var v6 = endpoint.AddressFamily == AddressFamily.InterNetworkV6;
        var owned = OwnedFd.FromResult(socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), out int errno)
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

    /// <summary>Blocks until a client connects; returns it, or null once the listener is shut down.</summary>
    public OwnedFd? Accept()
    {
        using var listener = _fd.Borrow();
        while (!_stopped)
        {
            var client = OwnedFd.FromResult(accept4(listener.Fd, null, null, SOCK_CLOEXEC), out int errno);
            if (client != null) return client;
            if (errno == EINTR) continue;
            if (_stopped) return null;
            // EMFILE, ECONNABORTED...: transient; the caller logs and goes on.
            throw new IOException("accept: " + Errno.Describe(errno));
        }
        return null;
    }

    /// <summary>Bounds blocking reads and writes on a client so a stuck peer cannot hold the thread.</summary>
    public static void SetTimeouts(OwnedFd client, TimeSpan timeout)
    {
        // struct timeval: two longs (16 bytes on x86-64 and arm64).
        long* tv = stackalloc long[2];
        tv[0] = (long)timeout.TotalSeconds;
        tv[1] = timeout.Milliseconds * 1000L;
        using var fd = client.Borrow();
        setsockopt(fd.Fd, SOL_SOCKET, SO_RCVTIMEO, tv, 2 * sizeof(long));
        setsockopt(fd.Fd, SOL_SOCKET, SO_SNDTIMEO, tv, 2 * sizeof(long));
    }

    /// <summary>Bytes read (0 = peer closed); IOException on error or timeout.</summary>
    public static int Receive(OwnedFd client, Span<byte> buffer)
    {
        using var fd = client.Borrow();
        fixed (byte* p = buffer)
        {
            while (true)
            {
                long n = recv(fd.Fd, p, (size_t)(ulong)buffer.Length, 0);
                if (n >= 0) return (int)n;
                var errno = Errno.Last;
                if (errno != EINTR) throw new IOException("recv: " + Errno.Describe(errno));
            }
        }
    }

    public static void SendAll(OwnedFd client, ReadOnlySpan<byte> data)
    {
        using var fd = client.Borrow();
        fixed (byte* p = data)
        {
            var offset = 0;
            while (offset < data.Length)
            {
                long n = send(fd.Fd, p + offset, (size_t)(ulong)(data.Length - offset), MSG_NOSIGNAL);
                if (n < 0)
                {
                    var errno = Errno.Last;
                    if (errno == EINTR) continue;
                    throw new IOException("send: " + Errno.Describe(errno));
                }
                offset += (int)n;
            }
        }
    }

    /// <summary>Half-close after the response, then close.</summary>
    public static void Close(OwnedFd client)
    {
        if (client.TryBorrow(out var fd))
            using (fd) shutdown(fd.Fd, SHUT_WR);
        client.Dispose();
    }

    /// <summary>
    /// Wakes a thread blocked in accept() (Linux returns EINVAL to it, and to every later accept) without
    /// closing the fd. Dispose closes it; a Dispose racing with that accept is deferred until accept returns.
    /// </summary>
    public void Stop()
    {
        _stopped = true;
        if (_fd.TryBorrow(out var fd))
            using (fd) shutdown(fd.Fd, SHUT_RDWR);
    }

    public void Dispose()
    {
        Stop();
        _fd.Dispose();
    }

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
