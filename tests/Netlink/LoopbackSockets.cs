using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace XtcpEpoll.Tests.Netlink;

/// <summary>
/// TCP listeners and established loopback pairs made with raw syscalls (no .NET Socket, so nothing
/// in the runtime starts threads while we sit in a foreign namespace). Fds are closed on Dispose.
/// </summary>
internal sealed unsafe class LoopbackSockets : IDisposable
{
    private readonly List<int> _fds = new();

    /// <summary>(family, listening port) per listener.</summary>
    public List<(byte Family, ushort Port)> Listeners { get; } = new();

    /// <summary>(family, client port, server port) per established connection.</summary>
    public List<(byte Family, ushort ClientPort, ushort ServerPort)> Connections { get; } = new();

    public void AddListenerWithConnections(byte family, int connections)
    {
        int listener = NewSocket(family);
        Bind(listener, family, 0);
        Check(listen(listener, 16), "listen");
        ushort port = LocalPort(listener, family);
        Listeners.Add((family, port));
        for (int i = 0; i < connections; i++)
        {
            int client = NewSocket(family);
            Connect(client, family, port);
            int server = accept(listener, null, null);
            Check(server, "accept");
            _fds.Add(server);
            byte data = 42;
            Check((int)(long)send(client, &data, 1, 0), "send");
            Check((int)(long)recv(server, &data, 1, 0), "recv");
            Connections.Add((family, LocalPort(client, family), port));
        }
    }

    public void Dispose()
    {
        foreach (var fd in _fds)
            close(fd);
        _fds.Clear();
    }

    private int NewSocket(byte family)
    {
        int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        Check(fd, "socket");
        _fds.Add(fd);
        return fd;
    }

    private static void Bind(int fd, byte family, ushort port)
    {
        if (family == 2)
        {
            var address = new sockaddr_in { sin_family = AF_INET, sin_port = htons(port) };
            byte* ip = (byte*)&address.sin_addr; // 127.0.0.1
            ip[0] = 127; ip[3] = 1;
            Check(bind(fd, (sockaddr*)&address, SizeOf.sockaddr_in), "bind");
        }
        else
        {
            var address = new sockaddr_in6 { sin6_family = AF_INET6, sin6_port = htons(port) };
            address.sin6_addr.s6_addr[15] = 1; // ::1
            Check(bind(fd, (sockaddr*)&address, SizeOf.sockaddr_in6), "bind");
        }
    }

    private static void Connect(int fd, byte family, ushort port)
    {
        if (family == 2)
        {
            var address = new sockaddr_in { sin_family = AF_INET, sin_port = htons(port) };
            byte* ip = (byte*)&address.sin_addr;
            ip[0] = 127; ip[3] = 1;
            Check(connect(fd, (sockaddr*)&address, SizeOf.sockaddr_in), "connect");
        }
        else
        {
            var address = new sockaddr_in6 { sin6_family = AF_INET6, sin6_port = htons(port) };
            address.sin6_addr.s6_addr[15] = 1;
            Check(connect(fd, (sockaddr*)&address, SizeOf.sockaddr_in6), "connect");
        }
    }

    private static ushort LocalPort(int fd, byte family)
    {
        var storage = stackalloc byte[128];
        socklen_t length = 128;
        Check(getsockname(fd, (sockaddr*)storage, &length), "getsockname");
        // sin_port and sin6_port both sit at offset 2, network order.
        return (ushort)(storage[2] << 8 | storage[3]);
    }

    private static void Check(int result, string call)
    {
        if (result < 0)
            throw new InvalidOperationException($"{call} failed: errno {errno}");
    }
}
