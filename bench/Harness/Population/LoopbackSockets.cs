using Tmds.Linux;
using XtcpEpoll.Netlink.Native;
using static Tmds.Linux.LibC;

namespace XtcpEpoll.Bench.Harness.Population;

/// <summary>
/// Builds loopback TCP connections inside the calling thread's network namespace with raw syscalls.
/// One listener: a dual-stack [::] listener; even connections come from IPv4 clients (127.0.0.1, accepted as
/// v4-mapped IPv6 sockets), odd ones from IPv6 clients (::1). Two listeners: 127.0.0.1 and [::1] (v6only),
/// each connection to the listener of its family. Every socket is one fd the caller keeps open (plain ints:
/// a holder keeps thousands for the population's lifetime and closes them together with <see cref="CloseAll"/>).
/// </summary>
internal static unsafe class LoopbackSockets
{
    /// <summary>The listeners <see cref="Create"/> made in a namespace (-1: none), kept to connect to later.</summary>
    internal readonly record struct Listeners(int Dual, int V4, int V6);

    /// <summary>One connection <see cref="Connect"/> made: its family (4 or 6), the client's port and the listener's.</summary>
    internal readonly record struct Connection(int Family, ushort ClientPort, ushort ServerPort);

    public static Listeners Create(int listeners, int connections, List<int> fds)
    {
        int dual = -1, v4 = -1, v6 = -1;
        ushort dualPort = 0, v4Port = 0, v6Port = 0;
        if (listeners <= 1)
        {
            dual = Listen(AF_INET6, v6only: false, loopback: false, fds, out dualPort);
        }
        else
        {
            v4 = Listen(AF_INET, false, true, fds, out v4Port);
            v6 = Listen(AF_INET6, true, true, fds, out v6Port);
        }
        for (int i = 0; i < connections; i++)
        {
            bool ipv4 = i % 2 == 0;
            ConnectTo(dual >= 0 ? dual : ipv4 ? v4 : v6, dual >= 0 ? dualPort : ipv4 ? v4Port : v6Port, ipv4, fds);
        }
        return new Listeners(dual, v4, v6);
    }

    /// <summary>
    /// One more loopback connection to a listener <see cref="Create"/> made, in the calling thread's namespace
    /// (which must be the listener's): the client and the accepted socket go into <paramref name="fds"/>.
    /// </summary>
    public static Connection Connect(Listeners listeners, bool ipv4, List<int> fds)
    {
        int listener = listeners.Dual >= 0 ? listeners.Dual : ipv4 ? listeners.V4 : listeners.V6;
        if (listener < 0) throw new IOException("no listener in this namespace to connect to");
        ushort serverPort = LocalPort(listener);
        int client = ConnectTo(listener, serverPort, ipv4, fds);
        return new Connection(ipv4 ? 4 : 6, LocalPort(client), serverPort);
    }

    /// <summary>Connects a new client of the family to the listener and accepts it; returns the client's fd.</summary>
    private static int ConnectTo(int listener, ushort port, bool ipv4, List<int> fds)
    {
        byte* addr = stackalloc byte[28];
        int c = socket(ipv4 ? AF_INET : AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (c < 0) throw Failed("socket");
        fds.Add(c);
        int len = Loopback(ipv4, port, addr);
        if (connect(c, (sockaddr*)addr, (uint)len) != 0) throw Failed("connect");
        int a = accept4(listener, null, null, SOCK_CLOEXEC);
        if (a < 0) throw Failed("accept");
        fds.Add(a);
        return c;
    }

    private static ushort LocalPort(int fd)
    {
        byte* addr = stackalloc byte[28];
        socklen_t alen = 28;
        if (getsockname(fd, (sockaddr*)addr, &alen) != 0) throw Failed("getsockname");
        return (ushort)(addr[2] << 8 | addr[3]);
    }

    /// <summary>Closes with SO_LINGER {1,0} so the connection is reset and leaves no TIME_WAIT socket behind.</summary>
    public static void CloseAll(List<int> fds)
    {
        int* linger = stackalloc int[2];
        linger[0] = 1; linger[1] = 0;
        foreach (int fd in fds)
        {
            setsockopt(fd, SOL_SOCKET, SO_LINGER, linger, 8);
            close(fd);
        }
        fds.Clear();
    }

    private static int Listen(int family, bool v6only, bool loopback, List<int> fds, out ushort port)
    {
        int s = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (s < 0) throw Failed("socket");
        fds.Add(s);
        int one = 1, v6 = v6only ? 1 : 0;
        setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, 4);
        if (family == AF_INET6) setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &v6, 4);
        byte* addr = stackalloc byte[28];
        int len;
        if (loopback) len = Loopback(family == AF_INET, 0, addr);
        else { new Span<byte>(addr, 28).Clear(); *(ushort*)addr = (ushort)AF_INET6; len = 28; }
        if (bind(s, (sockaddr*)addr, (uint)len) != 0) throw Failed("bind");
        if (listen(s, 4096) != 0) throw Failed("listen");
        port = LocalPort(s);
        return s;
    }

    private static IOException Failed(string call) => new($"{call}: {Errno.Describe(Errno.Last)}");

    private static int Loopback(bool ipv4, ushort port, byte* addr)
    {
        new Span<byte>(addr, 28).Clear();
        addr[2] = (byte)(port >> 8); addr[3] = (byte)port;
        if (ipv4)
        {
            *(ushort*)addr = (ushort)AF_INET;
            addr[4] = 127; addr[7] = 1;
            return 16;
        }
        *(ushort*)addr = (ushort)AF_INET6;
        addr[8 + 15] = 1; // ::1
        return 28;
    }
}
