using System.Runtime.InteropServices;

namespace XtcpEpoll.Tests.Host;

/// <summary>The few libc calls the Host tests need (setns to place sockets, kill to send SIGTERM).</summary>
internal static partial class NativeTest
{
    public const int CLONE_NEWNET = 0x40000000;
    public const int SIGTERM = 15;
    public const int SIGINT = 2;

    [LibraryImport("libc", SetLastError = true)]
    public static partial int setns(int fd, int nstype);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int kill(int pid, int signal);
}
