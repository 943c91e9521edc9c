using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace XtcpEpoll.Netlink.Native;

/// <summary>What stat(2) says about a file; all zero (Size -1) when it could not be stat'ed.</summary>
public readonly record struct FileStatus(ulong Device, ulong Inode, long Size)
{
    public static readonly FileStatus None = new(0, 0, -1);
}

/// <summary>open, stat and read on paths and owned fds (Tmds.LibC's struct stat: 144 bytes on x86-64, 128 on arm64).</summary>
public static unsafe class Files
{
    /// <summary>open(path, O_RDONLY | O_CLOEXEC); null with the errno on failure.</summary>
    public static OwnedFd? OpenReadOnly(string path, out int errno) => Open(path, O_RDONLY | O_CLOEXEC, 0, out errno);

    /// <summary>open(2) with explicit flags (O_CLOEXEC is the caller's to add); null with the errno on failure.</summary>
    public static OwnedFd? Open(string path, int flags, int mode, out int errno)
    {
        Span<byte> buffer = stackalloc byte[NativePath.StackBytes];
        fixed (byte* p = NativePath.Encode(path, buffer))
            return OwnedFd.FromResult(open(p, flags, (mode_t)(uint)mode), out errno);
    }

    /// <summary>stat(2) following symlinks; <see cref="FileStatus.None"/> on failure (errno in <see cref="Errno.Last"/>).</summary>
    public static FileStatus Stat(string path)
    {
        Span<byte> buffer = stackalloc byte[NativePath.StackBytes];
        Tmds.Linux.stat st;
        fixed (byte* p = NativePath.Encode(path, buffer))
            return stat(p, &st) == 0 ? From(st) : FileStatus.None;
    }

    /// <summary>fstat(2); <see cref="FileStatus.None"/> on failure.</summary>
    public static FileStatus Stat(OwnedFd fd)
    {
        using var lease = fd.Borrow();
        Tmds.Linux.stat st;
        return fstat(lease.Fd, &st) == 0 ? From(st) : FileStatus.None;
    }

    /// <summary>One read(2): bytes read, or -errno.</summary>
    public static int Read(OwnedFd fd, Span<byte> buffer)
    {
        using var lease = fd.Borrow();
        fixed (byte* p = buffer)
        {
            long n = read(lease.Fd, p, (size_t)(ulong)buffer.Length);
            return n >= 0 ? (int)n : -Errno.Last;
        }
    }

    /// <summary>
    /// One pread(2) from <paramref name="offset"/>: bytes read, or -errno. A /proc file read this way is produced
    /// anew at every read from offset 0, with no seek and no reopen, from any thread.
    /// </summary>
    public static int ReadAt(OwnedFd fd, Span<byte> buffer, long offset)
    {
        using var lease = fd.Borrow();
        fixed (byte* p = buffer)
        {
            long n = pread(lease.Fd, p, (size_t)(ulong)buffer.Length, (off_t)offset);
            return n >= 0 ? (int)n : -Errno.Last;
        }
    }

    private static FileStatus From(in Tmds.Linux.stat st) => new(st.st_dev, st.st_ino, st.st_size);
}
