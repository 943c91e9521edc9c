namespace XtcpEpoll.Netlink.Parsing;

/// <summary>
/// TCP sockets of one namespace by family, counted the way the kernel's per-namespace "inuse" counters count
/// them (/proc/net/sockstat "TCP: inuse", /proc/net/sockstat6 "TCP6: inuse"): full sockets that are hashed, i.e.
/// listeners and connections, without TIME-WAIT (or FIN-WAIT-2) minisockets and without request sockets.
/// </summary>
public struct TcpSocketCount
{
    /// <summary>AF_INET sockets (sockstat "TCP: inuse").</summary>
    public int Inet;
    /// <summary>AF_INET6 sockets, v4-mapped ones included (sockstat6 "TCP6: inuse").</summary>
    public int Inet6;

    public TcpSocketCount(int inet, int inet6)
    {
        Inet = inet;
        Inet6 = inet6;
    }

    public readonly int Total => Inet + Inet6;

    public void Add(in TcpSocketCount other)
    {
        Inet += other.Inet;
        Inet6 += other.Inet6;
    }

    public void Subtract(in TcpSocketCount other)
    {
        Inet -= other.Inet;
        Inet6 -= other.Inet6;
    }

    /// <summary>
    /// Sockets <paramref name="kernel"/> counts beyond <paramref name="found"/>, family by family (a family where
    /// more were found than counted, because one was made between the two, hides nothing of the other family).
    /// </summary>
    public static int Beyond(in TcpSocketCount kernel, in TcpSocketCount found) =>
        Math.Max(0, kernel.Inet - found.Inet) + Math.Max(0, kernel.Inet6 - found.Inet6);

    public override readonly string ToString() => $"inet {Inet}, inet6 {Inet6}";
}
