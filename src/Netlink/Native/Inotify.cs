using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace XtcpEpoll.Netlink.Native;

/// <summary>An inotify instance (IN_CLOEXEC | IN_NONBLOCK); events are <see cref="InotifyEvent"/> headers each followed by a name.</summary>
public sealed unsafe class Inotify : IDisposable
{
    private Inotify(OwnedFd fd) => Handle = fd;

    /// <summary>For <see cref="Epoll.Add"/>.</summary>
    public OwnedFd Handle { get; }

    /// <summary>Throws naming errno (EMFILE: fs.inotify.max_user_instances reached).</summary>
    public static Inotify Create() => new(OwnedFd.Check(
        LibCAdditions.inotify_init1(LibCAdditions.IN_CLOEXEC | LibCAdditions.IN_NONBLOCK), "inotify_init1"));

    /// <summary>The watch descriptor, or -errno (ENOENT: no such directory yet).</summary>
    public int AddWatch(string path, uint mask)
    {
        using var fd = Handle.Borrow();
        Span<byte> buffer = stackalloc byte[NativePath.StackBytes];
        fixed (byte* p = NativePath.Encode(path, buffer))
        {
            int wd = LibCAdditions.inotify_add_watch(fd.Fd, p, mask);
            return wd >= 0 ? wd : -Errno.Last;
        }
    }

    /// <summary>Bytes of whole events read, 0 when none are pending (non-blocking), or -errno.</summary>
    public int Read(Span<byte> buffer)
    {
        using var fd = Handle.Borrow();
        fixed (byte* p = buffer)
        {
            long n = read(fd.Fd, p, (size_t)(ulong)buffer.Length);
            if (n >= 0) return (int)n;
            int errno = Errno.Last;
            return errno == EAGAIN ? 0 : -errno;
        }
    }

    public void Dispose() => Handle.Dispose();
}
