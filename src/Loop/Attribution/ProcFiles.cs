using System.Text;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace XtcpEpoll.Loop.Attribution;

/// <summary>
/// The attribution area's only syscalls (Tmds.LibC): stat for an inode and a bounded read of a small
/// /proc file, on NUL-terminated UTF-8 paths built in caller buffers (a /proc pass allocates no string
/// per process).
/// </summary>
internal static unsafe class ProcFiles
{
    /// <summary>Longest path we build (PATH_MAX).</summary>
    public const int MaxPath = 4096;

    /// <summary>st_ino of the file a NUL-terminated path names (following links), or 0 with <paramref name="errno"/>.</summary>
    public static ulong InodeOf(ReadOnlySpan<byte> nulTerminatedPath, out int errno)
    {
        stat st;
        fixed (byte* p = nulTerminatedPath)
        {
            if (stat(p, &st) == 0)
            {
                errno = 0;
                return st.st_ino;
            }
        }
        errno = LibC.errno;
        return 0;
    }

    /// <summary>st_ino of <paramref name="path"/>, or 0.</summary>
    public static ulong InodeOf(string path)
    {
        Span<byte> buffer = stackalloc byte[MaxPath];
        int n = Utf8Path(path, buffer);
        return n < 0 ? 0 : InodeOf(buffer[..(n + 1)], out _);
    }

    /// <summary>
    /// Reads up to buffer.Length bytes of a small file (/proc/PID/cgroup); returns the byte count, or -1
    /// (vanished process, no permission). A file longer than the buffer is cut (the caller's buffer is sized
    /// for any realistic cgroup file; a cut one parses what it holds).
    /// </summary>
    public static int ReadSmall(ReadOnlySpan<byte> nulTerminatedPath, Span<byte> buffer)
    {
        int fd;
        fixed (byte* p = nulTerminatedPath) fd = open(p, O_RDONLY | O_CLOEXEC, 0);
        if (fd < 0) return -1;
        try
        {
            int total = 0;
            fixed (byte* b = buffer)
            {
                while (total < buffer.Length)
                {
                    long n = read(fd, b + total, buffer.Length - total);
                    if (n < 0)
                    {
                        if (LibC.errno == EINTR) continue;
                        return -1;
                    }
                    if (n == 0) break;
                    total += (int)n;
                }
            }
            return total;
        }
        finally
        {
            close(fd);
        }
    }

    /// <summary>"/proc/PID/NAME" + NUL into <paramref name="into"/>; returns its length without the NUL.</summary>
    public static int ProcPath(int pid, ReadOnlySpan<byte> name, Span<byte> into)
    {
        "/proc/"u8.CopyTo(into);
        int n = 6;
        pid.TryFormat(into[n..], out int digits);
        n += digits;
        into[n++] = (byte)'/';
        name.CopyTo(into[n..]);
        n += name.Length;
        into[n] = 0;
        return n;
    }

    /// <summary>UTF-8 + NUL of <paramref name="path"/>; returns the length without the NUL, or -1 if it does not fit.</summary>
    public static int Utf8Path(ReadOnlySpan<char> path, Span<byte> into)
    {
        if (Encoding.UTF8.GetMaxByteCount(path.Length) >= into.Length && Encoding.UTF8.GetByteCount(path) >= into.Length) return -1;
        int n = Encoding.UTF8.GetBytes(path, into);
        into[n] = 0;
        return n;
    }
}
