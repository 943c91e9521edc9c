using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace XtcpEpoll.Host.Native;

/// <summary>A blocking TCP listener and its connections as plain fds (see <see cref="Libc"/> for why).</summary>
internal sealed unsafe class RawTcpListener : IDisposable
{
    private readonly int _fd;
    private volatile bool _stopped;
    private int _closed;

    private RawTcpListener(int fd, IPEndPoint local)
    {
        _fd = fd;
        LocalEndPoint = local;
    }

    public IPEndPoint LocalEndPoint { get; }

    /// <summary>socket + SO_REUSEADDR + bind + listen; IOException naming the address and errno on failure.</summary>
    public static RawTcpListener Listen(IPEndPoint endpoint, int backlog)
    {
        var v6 = endpoint.AddressFamily == AddressFamily.InterNetworkV6;
        var fd = Libc.socket(v6 ? Libc.AF_INET6 : Libc.AF_INET, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0);
        if (fd < 0) throw new IOException($"socket for {endpoint}: {Libc.Describe(Libc.Errno)}");
        try
        {
            var one = 1;
            var zero = 0;
            Libc.setsockopt(fd, Libc.SOL_SOCKET, Libc.SO_REUSEADDR, &one, sizeof(int));
            // "[::]:PORT" serves IPv4 too, like Go's ":PORT".
            if (v6) Libc.setsockopt(fd, Libc.IPPROTO_IPV6, Libc.IPV6_V6ONLY, &zero, sizeof(int));
            var address = stackalloc byte[28];
            var length = WriteSockaddr(endpoint, new Span<byte>(address, 28));
            if (Libc.bind(fd, address, (uint)length) != 0) throw new IOException($"bind {endpoint}: {Libc.Describe(Libc.Errno)}");
            if (Libc.listen(fd, backlog) != 0) throw new IOException($"listen {endpoint}: {Libc.Describe(Libc.Errno)}");
            uint actualLength = 28;
            if (Libc.getsockname(fd, address, &actualLength) != 0) throw new IOException($"getsockname: {Libc.Describe(Libc.Errno)}");
            var port = BinaryPrimitives.ReadUInt16BigEndian(new ReadOnlySpan<byte>(address + 2, 2));
            return new RawTcpListener(fd, new IPEndPoint(endpoint.Address, port));
        }
        catch
        {
            Libc.close(fd);
            throw;
        }
    }

    /// <summary>Blocks until a client connects; returns its fd, or -1 once the listener is shut down.</summary>
    public int Accept()
    {
        while (!_stopped)
        {
            var client = Libc.accept4(_fd, null, null, Libc.SOCK_CLOEXEC);
            if (client >= 0) return client;
            var errno = Libc.Errno;
            if (errno == Libc.EINTR) continue;
            if (_stopped) return -1;
            // EMFILE, ECONNABORTED...: transient; the caller logs and goes on.
            throw new IOException("accept: " + Libc.Describe(errno));
        }
        return -1;
    }

    /// <summary>Bounds blocking reads and writes on a client so a stuck peer cannot hold the thread.</summary>
    public static void SetTimeouts(int client, TimeSpan timeout)
    {
        var tv = new Libc.TimeVal { Seconds = (long)timeout.TotalSeconds, Microseconds = timeout.Milliseconds * 1000L };
        Libc.setsockopt(client, Libc.SOL_SOCKET, Libc.SO_RCVTIMEO, &tv, (uint)sizeof(Libc.TimeVal));
        Libc.setsockopt(client, Libc.SOL_SOCKET, Libc.SO_SNDTIMEO, &tv, (uint)sizeof(Libc.TimeVal));
    }

    /// <summary>Bytes read (0 = peer closed); IOException on error or timeout.</summary>
    public static int Receive(int client, Span<byte> buffer)
    {
        fixed (byte* p = buffer)
        {
            while (true)
            {
                var n = Libc.recv(client, p, (nuint)buffer.Length, 0);
                if (n >= 0) return (int)n;
                var errno = Libc.Errno;
                if (errno != Libc.EINTR) throw new IOException("recv: " + Libc.Describe(errno));
            }
        }
    }

    public static void SendAll(int client, ReadOnlySpan<byte> data)
    {
        fixed (byte* p = data)
        {
            var offset = 0;
            while (offset < data.Length)
            {
                var n = Libc.send(client, p + offset, (nuint)(data.Length - offset), Libc.MSG_NOSIGNAL);
                if (n < 0)
                {
                    var errno = Libc.Errno;
                    if (errno == Libc.EINTR) continue;
                    throw new IOException("send: " + Libc.Describe(errno));
                }
                offset += (int)n;
            }
        }
    }

    /// <summary>Half-close after the response, then close.</summary>
    public static void Close(int client)
    {
        Libc.shutdown(client, Libc.SHUT_WR);
        Libc.close(client);
    }

    /// <summary>
    /// Wakes a thread blocked in accept() (Linux returns EINVAL to it, and to every later accept) without
    /// closing the fd, so the fd number cannot be reused under that thread. Close with Dispose after it left.
    /// </summary>
    public void Stop()
    {
        _stopped = true;
        Libc.shutdown(_fd, Libc.SHUT_RDWR);
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0) return;
        Stop();
        Libc.close(_fd);
    }

    private static int WriteSockaddr(IPEndPoint endpoint, Span<byte> destination)
    {
        destination.Clear();
        if (endpoint.AddressFamily == AddressFamily.InterNetworkV6)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(destination, Libc.AF_INET6);
            BinaryPrimitives.WriteUInt16BigEndian(destination[2..], (ushort)endpoint.Port);
            endpoint.Address.TryWriteBytes(destination.Slice(8, 16), out _);
            BinaryPrimitives.WriteUInt32LittleEndian(destination[24..], (uint)endpoint.Address.ScopeId);
            return 28;
        }
        BinaryPrimitives.WriteUInt16LittleEndian(destination, Libc.AF_INET);
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], (ushort)endpoint.Port);
        endpoint.Address.TryWriteBytes(destination.Slice(4, 4), out _);
        return 16;
    }
}
