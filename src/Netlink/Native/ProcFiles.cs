using System.Text;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace XtcpEpoll.Netlink.Native;

/// <summary>
/// stat and whole-file reads on paths the caller builds as NUL-terminated UTF-8 in its own buffers, for passes
/// over many small kernel files (/proc/PID/ns/net and /proc/PID/cgroup for every process, directories of the
/// cgroup tree): no string per file, unlike <see cref="Files"/> which takes strings.
/// </summary>
public static unsafe class ProcFiles
{
    /// <summary>Longest path (PATH_MAX).</summary>
    public const int MaxPath = 4096;

    /// <summary>"/proc/PID/NAME" + NUL into <paramref name="into"/> (≥ 32 + name bytes); its length without the NUL.</summary>
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

    /// <summary>UTF-8 + NUL of <paramref name="path"/> into <paramref name="into"/>; its length without the NUL, or -1 if it does not fit.</summary>
    public static int Encode(ReadOnlySpan<char> path, Span<byte> into)
    {
        if (Encoding.UTF8.GetByteCount(path) >= into.Length) return -1;
        int n = Encoding.UTF8.GetBytes(path, into);
        into[n] = 0;
        return n;
    }

    /// <summary>stat(2) (following links) of a NUL-terminated path; <see cref="FileStatus.None"/> with <paramref name="errno"/> on failure.</summary>
    public static FileStatus Stat(ReadOnlySpan<byte> nulTerminatedPath, out int errno)
    {
        Tmds.Linux.stat st;
        fixed (byte* p = nulTerminatedPath)
        {
            if (stat(p, &st) == 0)
            {
                errno = 0;
                return new FileStatus(st.st_dev, st.st_ino, st.st_size);
            }
        }
        errno = Errno.Last;
        return FileStatus.None;
    }

    /// <summary>
    /// The first buffer.Length bytes of a small file (e.g. /proc/PID/cgroup): the byte count, or -errno (vanished
    /// process, no permission). A longer file is cut at the buffer's size.
    /// </summary>
    public static int ReadSmall(ReadOnlySpan<byte> nulTerminatedPath, Span<byte> buffer)
    {
        OwnedFd? file;
        int errno;
        fixed (byte* p = nulTerminatedPath) file = OwnedFd.FromResult(open(p, O_RDONLY | O_CLOEXEC, 0), out errno);
        if (file == null) return -errno;
        using (file)
        {
            int total = 0;
            while (total < buffer.Length)
            {
                int n = Files.Read(file, buffer[total..]);
                if (n == -EINTR) continue;
                if (n < 0) return n;
                if (n == 0) break;
                total += n;
            }
            return total;
        }
    }
}
