using static Tmds.Linux.LibC;

namespace XtcpEpoll.Netlink.Native;

/// <summary>
/// Network namespaces: nsfs files, setns/unshare of the calling thread, and the namespace of a socket.
/// setns moves only the calling thread: call it on a thread that creates no threads, and verify the way back
/// with <see cref="InodeOfThread"/> (a thread created meanwhile would inherit the foreign namespace).
/// </summary>
public static unsafe class NetNamespace
{
    /// <summary>The calling thread's namespace file.</summary>
    public const string ThreadPath = "/proc/thread-self/ns/net";
    /// <summary>The process's (main thread's) namespace file.</summary>
    public const string ProcessPath = "/proc/self/ns/net";

    /// <summary>Opens a namespace file (bind mount, /proc/PID/ns/net...); null with the errno on failure.</summary>
    public static OwnedFd? Open(string path, out int errno) => Files.OpenReadOnly(path, out errno);

    /// <summary>setns(fd, CLONE_NEWNET) for the calling thread: 0, or the errno (EINVAL: not a network namespace).</summary>
    public static int Enter(OwnedFd ns)
    {
        using var fd = ns.Borrow();
        return setns(fd.Fd, CLONE_NEWNET) == 0 ? 0 : Errno.Last;
    }

    /// <summary>unshare(CLONE_NEWNET): the calling thread moves into a new, empty namespace. 0 or the errno.</summary>
    public static int EnterNew() => unshare(CLONE_NEWNET) == 0 ? 0 : Errno.Last;

    /// <summary>nsfs inode of the calling thread's namespace (0 if /proc is unreadable).</summary>
    public static ulong InodeOfThread() => Files.Stat(ThreadPath).Inode;

    /// <summary>Inode of the namespace a socket lives in (ioctl SIOCGSKNS → ns fd → fstat; needs CAP_NET_ADMIN), 0 on failure.</summary>
    public static ulong OfSocket(OwnedFd socket)
    {
        using var fd = socket.Borrow();
        using var ns = OwnedFd.FromResult(ioctl(fd.Fd, LibCAdditions.SIOCGSKNS, null), out _);
        return ns == null ? 0 : Files.Stat(ns).Inode;
    }
}
