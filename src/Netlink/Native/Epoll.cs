using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace XtcpEpoll.Netlink.Native;

/// <summary>
/// An epoll instance (Tmds.LibC's epoll_event: 12 bytes, packed, on x86-64; 16 on arm64, the package ships
/// one assembly per architecture). Watches are level-triggered EPOLLIN with a 64-bit key per fd, unless
/// added with explicit events. A loop
/// thread owns it: <c>Span&lt;epoll_event&gt; events = stackalloc epoll_event[64]; int n = epoll.Wait(events, -1);</c>
/// then <see cref="Key"/> of each event.
/// </summary>
public sealed unsafe class Epoll : IDisposable
{
    private Epoll(OwnedFd fd) => Handle = fd;

    public OwnedFd Handle { get; }

    /// <summary>epoll_create1(EPOLL_CLOEXEC); throws naming errno when the process cannot have one.</summary>
    public static Epoll Create() => new(OwnedFd.Check(epoll_create1(EPOLL_CLOEXEC), "epoll_create1"));

    /// <summary>Watches <paramref name="fd"/> for input; 0, or the errno (e.g. ENOSPC: fs.epoll.max_user_watches).</summary>
    public int TryAdd(OwnedFd fd, ulong key) => TryAdd(fd, key, EPOLLIN);

    /// <summary>
    /// Watches <paramref name="fd"/> for <paramref name="events"/> (EPOLLIN, EPOLLOUT, EPOLLRDHUP, EPOLLET...);
    /// 0, or the errno. For a socket that is read and then written, <c>EPOLLIN | EPOLLOUT | EPOLLET</c> needs
    /// one registration for its whole life (no EPOLL_CTL_MOD between phases), as Tmds.LinuxAsync does.
    /// </summary>
    public int TryAdd(OwnedFd fd, ulong key, int events)
    {
        using var epoll = Handle.Borrow();
        using var watched = fd.Borrow();
        var ev = new epoll_event { events = events };
        ev.data.u64 = key;
        return epoll_ctl(epoll.Fd, EPOLL_CTL_ADD, watched.Fd, &ev) == 0 ? 0 : Errno.Last;
    }

    /// <summary>As <see cref="TryAdd"/>, throwing on failure (for the loop's own eventfd and timerfds).</summary>
    public void Add(OwnedFd fd, ulong key)
    {
        int errno = TryAdd(fd, key);
        if (errno != 0) throw Errno.Failure($"epoll_ctl ADD {fd}", errno);
    }

    /// <summary>Stops watching <paramref name="fd"/> (a closed fd has already left every epoll set: nothing to do).</summary>
    public void Remove(OwnedFd fd)
    {
        if (!fd.TryBorrow(out var watched)) return;
        using (watched)
        {
            using var epoll = Handle.Borrow();
            epoll_ctl(epoll.Fd, EPOLL_CTL_DEL, watched.Fd, null);
        }
    }

    /// <summary>epoll_wait: the number of ready events written to <paramref name="events"/>, or -errno (-EINTR: call again).</summary>
    public int Wait(Span<epoll_event> events, int timeoutMs)
    {
        using var epoll = Handle.Borrow();
        fixed (epoll_event* p = events)
        {
            int n = epoll_wait(epoll.Fd, p, events.Length, timeoutMs);
            return n >= 0 ? n : -Errno.Last;
        }
    }

    /// <summary>
    /// epoll_wait for a loop thread, until an event or <paramref name="due"/> (Stopwatch ticks;
    /// <see cref="long.MaxValue"/>: no timeout). EINTR is retried with the timeout recomputed: the runtime
    /// signals threads (GC suspension), so a wait is interrupted often and must not restart its full timeout.
    /// Any other error, impossible on a valid epoll fd and buffer, throws naming <paramref name="owner"/>, so
    /// the loop fails fast instead of spinning.
    /// </summary>
    public int WaitUntil(Span<epoll_event> events, long due, string owner)
    {
        while (true)
        {
            int n = Wait(events, MonotonicClock.TimeoutMs(due, MonotonicClock.Now));
            if (n >= 0) return n;
            if (-n != EINTR) throw new InvalidOperationException($"{owner}: epoll_wait {Errno.Describe(-n)}");
        }
    }

    /// <summary>The key the event's fd was added with.</summary>
    public static ulong Key(in epoll_event ev) => ev.data.u64;

    /// <summary>The ready events (EPOLLIN, EPOLLOUT, EPOLLERR, EPOLLHUP, EPOLLRDHUP...) of a returned event.</summary>
    public static int Events(in epoll_event ev) => ev.events;

    public void Dispose() => Handle.Dispose();
}
