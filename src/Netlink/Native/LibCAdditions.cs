using System.Runtime.InteropServices;
using Tmds.Linux;

namespace XtcpEpoll.Netlink.Native;

/// <summary>
/// The only native declarations of the project: the libc calls, constants and structs that Tmds.LibC 0.5
/// (namespace Tmds.Linux, the project's syscall package) lacks. Everything else calls Tmds.LibC. A test
/// (InteropGuardTests) fails if an import appears anywhere else, or if Tmds.LibC has a call declared here.
/// Every struct here has the same layout on x86-64 and arm64 (LP64, no packing); NativeLayoutTests checks
/// each against the running kernel. Values are from the uapi headers, identical on both architectures.
/// </summary>
public static unsafe partial class LibCAdditions
{
    // Tmds.LibC resolves "libc.so.6"; the same library here, so both set the same errno slot.
    private const string Libc = "libc.so.6";

    // ---- timerfd (sys/timerfd.h)
    public const int CLOCK_MONOTONIC = 1;
    public const int TFD_CLOEXEC = 0x80000, TFD_NONBLOCK = 0x800;

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int timerfd_create(int clockid, int flags);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int timerfd_settime(int fd, int flags, ITimerSpec* value, ITimerSpec* old);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int timerfd_gettime(int fd, ITimerSpec* current);

    // ---- clocks (time.h): Tmds.LibC 0.5 has struct timespec but no clock_gettime
    /// <summary>CPU time of the calling thread only: waiting for a core does not count (bench's marshal-cputime).</summary>
    public const int CLOCK_THREAD_CPUTIME_ID = 3;

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int clock_gettime(int clockid, timespec* tp);

    // ---- inotify (sys/inotify.h)
    public const int IN_CLOEXEC = 0x80000, IN_NONBLOCK = 0x800;
    public const uint IN_MOVED_FROM = 0x40, IN_MOVED_TO = 0x80, IN_CREATE = 0x100, IN_DELETE = 0x200,
        IN_DELETE_SELF = 0x400, IN_MOVE_SELF = 0x800, IN_Q_OVERFLOW = 0x4000, IN_IGNORED = 0x8000,
        IN_ONLYDIR = 0x1000000;

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int inotify_init1(int flags);

    /// <param name="path">NUL-terminated UTF-8.</param>
    [LibraryImport(Libc, SetLastError = true)]
    public static partial int inotify_add_watch(int fd, byte* path, uint mask);

    // ---- resource limits (sys/resource.h)
    public const int RLIMIT_NOFILE = 7;

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int getrlimit(int resource, RLimit* limit);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int setrlimit(int resource, RLimit* limit);

    // ---- recvmmsg (sys/socket.h): Tmds.LibC 0.5 has recvmsg but neither recvmmsg nor struct mmsghdr
    /// <summary>Receives up to <paramref name="vlen"/> datagrams in one call: the count, or -1 with errno (EAGAIN: none queued).</summary>
    [LibraryImport(Libc, SetLastError = true)]
    public static partial int recvmmsg(int fd, MMsgHdr* msgvec, uint vlen, int flags, timespec* timeout);

    // ---- socket ioctls Tmds.LibC does not name (linux/sockios.h, net/if.h)
    /// <summary>ioctl on a socket: a new O_RDONLY fd of the network namespace the socket lives in (Linux 4.9+).</summary>
    public const int SIOCGSKNS = 0x894C;
    public const short IFF_UP = 0x1;
}

/// <summary>struct itimerspec: two struct timespec (Tmds.LibC's, 16 bytes each on LP64) = 32 bytes.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct ITimerSpec
{
    public timespec Interval;
    public timespec Value;
}

/// <summary>struct inotify_event's fixed part (16 bytes); <c>len</c> bytes of NUL-padded name follow it.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct InotifyEvent
{
    public int Wd;
    public uint Mask;
    public uint Cookie;
    /// <summary>Bytes of name after the header (a multiple of 16 when non-zero, NUL-padded).</summary>
    public uint Length;
}

/// <summary>struct rlimit: two rlim_t (unsigned 64-bit on x86-64 and arm64) = 16 bytes.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct RLimit
{
    public ulong Current;
    public ulong Max;
}

/// <summary>
/// struct ifreq as SIOCGIFFLAGS/SIOCSIFFLAGS use it: char ifr_name[IFNAMSIZ=16], then a union whose largest
/// member (struct ifmap: two unsigned longs, a short and three chars) makes it 24 bytes on LP64 = 40 bytes.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 40)]
public unsafe struct IfReqFlags
{
    public const int IFNAMSIZ = 16;
    [FieldOffset(0)] public fixed byte Name[IFNAMSIZ];
    [FieldOffset(16)] public short Flags;
}

/// <summary>struct iovec: a base pointer and a size_t length = 16 bytes on LP64.</summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct IoVec
{
    public void* Base;
    public nuint Length;
}

/// <summary>
/// struct msghdr on LP64 (glibc): name pointer, socklen_t name length (4 bytes of padding follow), iovec pointer,
/// size_t iovec count, control pointer, size_t control length, int flags (+4 padding) = 56 bytes.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct MsgHdr
{
    public void* Name;
    public uint NameLength;
    public IoVec* Iov;
    public nuint IovLength;
    public void* Control;
    public nuint ControlLength;
    public int Flags;
}

/// <summary>struct mmsghdr: a msghdr and the unsigned length received into it (+4 padding) = 64 bytes on LP64.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct MMsgHdr
{
    public MsgHdr Header;
    public uint Length;
}
