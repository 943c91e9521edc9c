using System.Text;

namespace XtcpEpoll.Netlink.Native;

/// <summary>Paths as libc takes them: NUL-terminated UTF-8, on the stack when short (no allocation per call).</summary>
public static class NativePath
{
    /// <summary>Stack buffer callers pass for <see cref="Encode"/>: PATH_MAX would be 4096; our paths are short.</summary>
    public const int StackBytes = 512;

    /// <summary>The path's bytes plus a NUL, in <paramref name="buffer"/> when it fits, else in a new array.</summary>
    public static Span<byte> Encode(string path, Span<byte> buffer)
    {
        int max = Encoding.UTF8.GetMaxByteCount(path.Length) + 1;
        if (max > buffer.Length && Encoding.UTF8.GetByteCount(path) + 1 > buffer.Length) buffer = new byte[max];
        int n = Encoding.UTF8.GetBytes(path, buffer);
        buffer[n] = 0;
        return buffer[..(n + 1)];
    }
}
