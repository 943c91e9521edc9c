using System.Runtime.InteropServices;

namespace XtcpEpoll.Loop.Native;

/// <summary>
/// The few libc calls the loop needs that Tmds.LibC 0.5 lacks (timerfd, inotify) plus the ones we use
/// next to them, declared in one place with blittable signatures. x86-64 Linux layouts (epoll_event is
/// packed to 12 bytes there; struct stat has st_dev at 0 and st_ino at 8).
/// All return -1 and set errno on failure; read it with <see cref="Errno"/>.
/// </summary>
internal static unsafe partial class Sys
{
    private const string Libc = "libc";

    public const int O_RDONLY = 0, O_CLOEXEC = 0x80000, O_NONBLOCK = 0x800;
    public const int CLONE_NEWNET = 0x40000000;
    public const int EPOLL_CLOEXEC = 0x80000;
    public const int EPOLL_CTL_ADD = 1, EPOLL_CTL_DEL = 2, EPOLL_CTL_MOD = 3;
    public const uint EPOLLIN = 0x1, EPOLLERR = 0x8, EPOLLHUP = 0x10;
    public const int EFD_CLOEXEC = 0x80000, EFD_NONBLOCK = 0x800;
    public const int CLOCK_REALTIME = 0, CLOCK_MONOTONIC = 1;
    public const int TFD_CLOEXEC = 0x80000, TFD_NONBLOCK = 0x800, TFD_TIMER_ABSTIME = 1;
    public const int IN_CLOEXEC = 0x80000, IN_NONBLOCK = 0x800;
    public const uint IN_MOVED_FROM = 0x40, IN_MOVED_TO = 0x80, IN_CREATE = 0x100, IN_DELETE = 0x200,
        IN_DELETE_SELF = 0x400, IN_MOVE_SELF = 0x800, IN_Q_OVERFLOW = 0x4000, IN_IGNORED = 0x8000,
        IN_ONLYDIR = 0x1000000;
    public const ulong SIOCGSKNS = 0x894C;
    public const ulong SIOCGIFFLAGS = 0x8913, SIOCSIFFLAGS = 0x8914;
    public const int EINTR = 4, EAGAIN = 11, EBUSY = 16, EINVAL = 22, ENOENT = 2, EOPNOTSUPP = 95, EMSGSIZE = 90;

    [StructLayout(LayoutKind.Sequential, Pack = 4)]
    public struct EpollEvent
    {
        public uint Events;
        public ulong Data;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct Timespec { public long Sec; public long Nsec; }

    [StructLayout(LayoutKind.Sequential)]
    public struct ITimerSpec { public Timespec Interval; public Timespec Value; }

    /// <summary>struct stat (x86-64, 144 bytes): only the fields we read are named.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 144)]
    public struct Stat
    {
        [FieldOffset(0)] public ulong Dev;
        [FieldOffset(8)] public ulong Ino;
        [FieldOffset(48)] public long Size;
    }

    public static int Errno => Marshal.GetLastPInvokeError();

    [LibraryImport(Libc, SetLastError = true)] public static partial int epoll_create1(int flags);
    [LibraryImport(Libc, SetLastError = true)] public static partial int epoll_ctl(int epfd, int op, int fd, EpollEvent* ev);
    [LibraryImport(Libc, SetLastError = true)] public static partial int epoll_wait(int epfd, EpollEvent* events, int max, int timeoutMs);
    [LibraryImport(Libc, SetLastError = true)] public static partial int eventfd(uint initval, int flags);
    [LibraryImport(Libc, SetLastError = true)] public static partial int timerfd_create(int clockid, int flags);
    [LibraryImport(Libc, SetLastError = true)] public static partial int timerfd_settime(int fd, int flags, ITimerSpec* value, ITimerSpec* old);
    [LibraryImport(Libc, SetLastError = true)] public static partial int inotify_init1(int flags);
    [LibraryImport(Libc, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)] public static partial int inotify_add_watch(int fd, string path, uint mask);
    [LibraryImport(Libc, SetLastError = true)] public static partial int inotify_rm_watch(int fd, int wd);
    [LibraryImport(Libc, SetLastError = true)] public static partial int setns(int fd, int nstype);
    [LibraryImport(Libc, SetLastError = true)] public static partial int unshare(int flags);
    [LibraryImport(Libc, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)] public static partial int open(string path, int flags);
    [LibraryImport(Libc, SetLastError = true)] public static partial int close(int fd);
    [LibraryImport(Libc, SetLastError = true)] public static partial nint read(int fd, void* buf, nint count);
    [LibraryImport(Libc, SetLastError = true)] public static partial nint write(int fd, void* buf, nint count);
    [LibraryImport(Libc, SetLastError = true)] public static partial int ioctl(int fd, ulong request, void* arg);
    [LibraryImport(Libc, SetLastError = true)] public static partial int fstat(int fd, Stat* buf);
    [LibraryImport(Libc, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)] public static partial int stat(string path, Stat* buf);
    [LibraryImport(Libc, SetLastError = true)] public static partial int gettid();
    [LibraryImport(Libc, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)] public static partial int mount(string source, string target, string? fstype, ulong flags, void* data);
    [LibraryImport(Libc, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)] public static partial int umount2(string target, int flags);
    public const ulong MS_BIND = 0x1000;
    public const int MNT_DETACH = 2;

    /// <summary>(dev, inode) of a path, or (0,0) with errno when it cannot be stat'ed.</summary>
    public static (ulong Dev, ulong Ino) StatPath(string path)
    {
        Stat st;
        return stat(path, &st) == 0 ? (st.Dev, st.Ino) : (0, 0);
    }

    /// <summary>st_size of a path (for /proc/self/fd: the number of open fds, Linux 6.2+), -1 on failure.</summary>
    public static long SizeOfPath(string path)
    {
        Stat st;
        return stat(path, &st) == 0 ? st.Size : -1;
    }

    public static ulong InodeOfFd(int fd)
    {
        Stat st;
        return fstat(fd, &st) == 0 ? st.Ino : 0;
    }

    /// <summary>Adds 1 to an eventfd (wakes its epoll waiter).</summary>
    public static void Signal(int eventFd)
    {
        ulong one = 1;
        write(eventFd, &one, 8);
    }

    /// <summary>Reads (and so resets) an eventfd or timerfd counter; 0 when nothing was pending.</summary>
    public static ulong Drain(int fd)
    {
        ulong value = 0;
        return read(fd, &value, 8) == 8 ? value : 0;
    }

    /// <summary>Arms a timerfd once, <paramref name="delay"/> from now (zero or less disarms it... so use 1 ns).</summary>
    public static void ArmOnce(int timerFd, TimeSpan delay)
    {
        long ns = Math.Max(1, delay.Ticks * 100);
        var spec = new ITimerSpec { Value = new Timespec { Sec = ns / 1_000_000_000, Nsec = ns % 1_000_000_000 } };
        timerfd_settime(timerFd, 0, &spec, null);
    }

    public static void Disarm(int timerFd)
    {
        var spec = default(ITimerSpec);
        timerfd_settime(timerFd, 0, &spec, null);
    }

    public static void EpollAdd(int epfd, int fd, ulong data)
    {
        var ev = new EpollEvent { Events = EPOLLIN, Data = data };
        if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) != 0)
            throw new InvalidOperationException($"epoll_ctl ADD fd {fd} failed: errno {Errno}");
    }

    public static void EpollDel(int epfd, int fd) => epoll_ctl(epfd, EPOLL_CTL_DEL, fd, null);

    /// <summary>Unix time in ns (CLOCK_REALTIME): the poll timestamp carried by every record.</summary>
    public static long UnixNanos() => (DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) * 100;
}

