using System.Runtime.InteropServices;

namespace XtcpEpoll.Bench.Harness.Native;

/// <summary>
/// The few raw syscalls the harness needs. Declared here (not via Tmds.LibC) so the exact signatures and
/// constants used for namespace and socket population are visible in one place.
/// </summary>
internal static unsafe partial class Libc
{
    public const int CLONE_NEWNET = 0x40000000;
    public const int O_RDONLY = 0, O_CREAT = 0x40, O_EXCL = 0x80, O_CLOEXEC = 0x80000;
    public const ulong MS_BIND = 0x1000;
    public const int MNT_DETACH = 2;
    public const int AF_INET = 2, AF_INET6 = 10;
    public const int SOCK_STREAM = 1, SOCK_DGRAM = 2, SOCK_CLOEXEC = 0x80000;
    public const int SOL_SOCKET = 1, SO_REUSEADDR = 2, SO_LINGER = 13;
    public const int IPPROTO_IPV6 = 41, IPV6_V6ONLY = 26;
    public const ulong SIOCGIFFLAGS = 0x8913, SIOCSIFFLAGS = 0x8914;
    public const short IFF_UP = 0x1;
    public const int SIGKILL = 9, SIGTERM = 15;
    public const int RLIMIT_NOFILE = 7;

    [LibraryImport("libc", SetLastError = true)] public static partial int unshare(int flags);
    [LibraryImport("libc", SetLastError = true)] public static partial int setns(int fd, int nstype);
    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int mount(string source, string target, string? fstype, ulong flags, nint data);
    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int umount2(string target, int flags);
    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int open(string path, int flags, int mode);
    [LibraryImport("libc", SetLastError = true)] public static partial int close(int fd);
    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int stat(string path, byte* buf);
    [LibraryImport("libc", SetLastError = true)] public static partial int socket(int domain, int type, int protocol);
    [LibraryImport("libc", SetLastError = true)] public static partial int bind(int fd, byte* addr, int len);
    [LibraryImport("libc", SetLastError = true)] public static partial int listen(int fd, int backlog);
    [LibraryImport("libc", SetLastError = true)] public static partial int connect(int fd, byte* addr, int len);
    [LibraryImport("libc", SetLastError = true)] public static partial int accept4(int fd, byte* addr, int* len, int flags);
    [LibraryImport("libc", SetLastError = true)] public static partial int getsockname(int fd, byte* addr, int* len);
    [LibraryImport("libc", SetLastError = true)] public static partial int setsockopt(int fd, int level, int name, void* val, int len);
    [LibraryImport("libc", SetLastError = true)] public static partial int ioctl(int fd, ulong request, void* arg);
    [LibraryImport("libc", SetLastError = true)] public static partial int kill(int pid, int sig);
    [LibraryImport("libc", SetLastError = true)] public static partial int getrlimit(int resource, ulong* rlim);
    [LibraryImport("libc", SetLastError = true)] public static partial int setrlimit(int resource, ulong* rlim);

    public static string Error(string what) => $"{what}: {Marshal.GetLastPInvokeErrorMessage()} (errno {Marshal.GetLastPInvokeError()})";

    /// <summary>st_ino of a path (offset 8 in struct stat on x86_64 and aarch64); nsfs files give the namespace inode.</summary>
    public static ulong Inode(string path)
    {
        byte* buf = stackalloc byte[256];
        if (stat(path, buf) != 0) throw new IOException(Error($"stat {path}"));
        return *(ulong*)(buf + 8);
    }

    /// <summary>Raises the soft open-files limit to the hard one (the holders need ~15,000 fds).</summary>
    public static ulong RaiseNoFileLimit()
    {
        ulong* lim = stackalloc ulong[2];
        if (getrlimit(RLIMIT_NOFILE, lim) != 0) return 0;
        lim[0] = lim[1];
        setrlimit(RLIMIT_NOFILE, lim);
        return lim[0];
    }
}
