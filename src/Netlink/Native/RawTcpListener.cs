using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace XtcpEpoll.Netlink.Native;

/// <summary>
/// A listening, non-blocking TCP socket as an owned fd, through Tmds.LibC (no System.Net.Sockets.Socket: that
/// starts .NET's socket engine thread for the process lifetime, and the metrics endpoint runs on one thread).
/// Its connections are taken and served with <see cref="StreamSocket"/>.
/// </summary>
public sealed unsafe class RawTcpListener : IDisposable
{
    private RawTcpListener(OwnedFd fd, IPEndPoint local)
    {
        Handle = fd;
        LocalEndPoint = local;
    }

    /// <summary>For <see cref="Epoll.Add"/> (readable = a connection is waiting in the backlog) and <see cref="StreamSocket.TryAccept"/>.</summary>
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
