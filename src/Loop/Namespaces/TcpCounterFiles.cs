using XtcpEpoll.Netlink.Native;
using XtcpEpoll.Netlink.Parsing;

namespace XtcpEpoll.Loop.Namespaces;

/// <summary>How reading a namespace's TCP counters went (the <c>kind</c> label of xtcp_tcp_counter_failures_total).</summary>
internal enum CounterReadResult : byte { Ok, Open, Read, Parse }

/// <summary>
/// A namespace's /proc/net/sockstat and /proc/net/sockstat6, opened by the opener thread while it sits in the
/// namespace (/proc/thread-self/net is bound to the opener's namespace at open time and stays so): a pread at
/// offset 0 from any thread then returns that namespace's counters (its cost: design/PERFORMANCE.md, "Walks on an
/// interval"). Two fds per namespace. The lane that owns the namespace reads
/// them at each poll (<see cref="Read"/>) and closes them with its sockets.
/// </summary>
internal sealed class TcpCounterFiles : IDisposable
{
    /// <summary>sockstat is ~250 bytes and sockstat6 ~110 on 6.x kernels; both are read whole.</summary>
    private const int ReadSize = 512;

    private readonly OwnedFd _sockstat;
    /// <summary>Null when the kernel runs without IPv6 (no sockstat6): no TCP6 socket can exist.</summary>
    private readonly OwnedFd? _sockstat6;

    private TcpCounterFiles(OwnedFd sockstat, OwnedFd? sockstat6)
    {
        _sockstat = sockstat;
        _sockstat6 = sockstat6;
    }

    /// <summary>
    /// Opens both files of the calling thread's namespace; null with the errno when either cannot be opened
    /// (/proc not mounted as expected, a kernel without IPv6). Call only on the thread that is in the namespace.
    /// </summary>
    public static TcpCounterFiles? OpenForCurrentThread(out int errno) =>
        Open("/proc/thread-self/net/sockstat", "/proc/thread-self/net/sockstat6", out errno);

    /// <summary>
    /// Opens two files in sockstat's and sockstat6's formats; null with the errno when either cannot be opened,
    /// except a sockstat6 that does not exist (ENOENT: IPv6 disabled, ipv6.disable=1), which counts no IPv6 socket.
    /// </summary>
    public static TcpCounterFiles? Open(string sockstatPath, string sockstat6Path, out int errno)
    {
        var sockstat = Files.OpenReadOnly(sockstatPath, out errno);
        if (sockstat == null) return null;
        var sockstat6 = Files.OpenReadOnly(sockstat6Path, out errno);
        if (sockstat6 == null && errno != Tmds.Linux.LibC.ENOENT)
        {
            sockstat.Dispose();
            return null;
        }
        errno = 0;
        return new TcpCounterFiles(sockstat, sockstat6);
    }

    /// <summary>The namespace's hashed TCP sockets now, by family.</summary>
    public CounterReadResult Read(out TcpSocketCount count)
    {
        count = default;
        Span<byte> v4 = stackalloc byte[ReadSize];
        Span<byte> v6 = stackalloc byte[ReadSize];
        int n4 = Files.ReadAt(_sockstat, v4, 0);
        if (n4 <= 0) return CounterReadResult.Read;
        if (_sockstat6 == null)
        {
            count = new TcpSocketCount(SockstatParser.InUse(v4[..n4], SockstatParser.Inet), 0);
            return count.Inet >= 0 ? CounterReadResult.Ok : CounterReadResult.Parse;
        }
        int n6 = Files.ReadAt(_sockstat6, v6, 0);
        if (n6 <= 0) return CounterReadResult.Read;
        return SockstatParser.TryParse(v4[..n4], v6[..n6], out count) ? CounterReadResult.Ok : CounterReadResult.Parse;
    }

    public void Dispose()
    {
        _sockstat.Dispose();
        _sockstat6?.Dispose();
    }
}
