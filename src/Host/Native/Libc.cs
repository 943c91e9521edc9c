using System.Runtime.InteropServices;

namespace XtcpEpoll.Host.Native;

/// <summary>
/// The libc socket calls the metrics endpoint uses directly. Constructing any System.Net.Sockets.Socket
/// starts .NET's socket engine thread (+1 thread for the whole process lifetime); the endpoint only ever
/// does blocking I/O on its own thread, so raw calls keep it at exactly one thread.
/// </summary>
internal static unsafe partial class Libc
{
    public const int AF_INET = 2;
    public const int AF_INET6 = 10;
    public const int SOCK_STREAM = 1;
    public const int SOCK_CLOEXEC = 0x80000;
    public const int SOL_SOCKET = 1;
    public const int SO_REUSEADDR = 2;
    public const int SO_RCVTIMEO = 20;
    public const int SO_SNDTIMEO = 21;
    public const int IPPROTO_IPV6 = 41;
    public const int IPV6_V6ONLY = 26;
    public const int SHUT_WR = 1;
    public const int SHUT_RDWR = 2;
    public const int MSG_NOSIGNAL = 0x4000;
    public const int EINTR = 4;

    [StructLayout(LayoutKind.Sequential)]
    public struct TimeVal
    {
        public long Seconds;
        public long Microseconds;
    }

    [LibraryImport("libc", SetLastError = true)] public static partial int socket(int domain, int type, int protocol);
    [LibraryImport("libc", SetLastError = true)] public static partial int setsockopt(int fd, int level, int name, void* value, uint length);
    [LibraryImport("libc", SetLastError = true)] public static partial int bind(int fd, byte* address, uint length);
    [LibraryImport("libc", SetLastError = true)] public static partial int listen(int fd, int backlog);
    [LibraryImport("libc", SetLastError = true)] public static partial int accept4(int fd, void* address, void* length, int flags);
    [LibraryImport("libc", SetLastError = true)] public static partial int getsockname(int fd, byte* address, uint* length);
    [LibraryImport("libc", SetLastError = true)] public static partial nint recv(int fd, byte* buffer, nuint length, int flags);
    [LibraryImport("libc", SetLastError = true)] public static partial nint send(int fd, byte* buffer, nuint length, int flags);
    [LibraryImport("libc", SetLastError = true)] public static partial int shutdown(int fd, int how);
    [LibraryImport("libc", SetLastError = true)] public static partial int close(int fd);

    public static int Errno => Marshal.GetLastPInvokeError();

    public static string Describe(int errno) => $"errno {errno} ({Marshal.GetPInvokeErrorMessage(errno)})";
}
