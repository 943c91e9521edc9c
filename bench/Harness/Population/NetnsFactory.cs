using XtcpEpoll.Bench.Harness.Native;

namespace XtcpEpoll.Bench.Harness.Population;

/// <summary>
/// Creates network namespaces as bind-mounted nsfs files (like `ip netns add`, without a process per
/// namespace): unshare(CLONE_NEWNET) on the namespace thread, bind-mount /proc/thread-self/ns/net onto the
/// file, bring `lo` up from inside, return home. Deletion is umount + unlink; the kernel frees the namespace
/// once the last socket in it is closed.
/// </summary>
internal sealed unsafe class NetnsFactory : IDisposable
{
    private readonly NamespaceThread _thread = new("netns-factory");

    /// <summary>Creates the namespace file at <paramref name="path"/> and returns the namespace inode.</summary>
    public ulong Create(string path)
    {
        int fd = Libc.open(path, Libc.O_RDONLY | Libc.O_CREAT | Libc.O_EXCL | Libc.O_CLOEXEC, 0);
        if (fd < 0) throw new IOException(Libc.Error($"create {path}"));
        Libc.close(fd);
        try
        {
            return _thread.Run(() =>
            {
                if (Libc.unshare(Libc.CLONE_NEWNET) != 0) throw new IOException(Libc.Error("unshare(CLONE_NEWNET)"));
                if (Libc.mount("/proc/thread-self/ns/net", path, null, Libc.MS_BIND, 0) != 0)
                    throw new IOException(Libc.Error($"bind-mount netns onto {path}"));
                BringLoopbackUp();
                return Libc.Inode(path);
            });
        }
        catch
        {
            Delete(path);
            throw;
        }
    }

    /// <summary>Unmounts and removes a namespace file; safe to call for a half-created one.</summary>
    public static void Delete(string path)
    {
        Libc.umount2(path, Libc.MNT_DETACH);
        try { File.Delete(path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private static void BringLoopbackUp()
    {
        int s = Libc.socket(Libc.AF_INET, Libc.SOCK_DGRAM | Libc.SOCK_CLOEXEC, 0);
        if (s < 0) throw new IOException(Libc.Error("socket for lo"));
        try
        {
            // struct ifreq: 16-byte name then a union whose first short is ifr_flags; 40 bytes in all.
            byte* ifr = stackalloc byte[40];
            new Span<byte>(ifr, 40).Clear();
            ifr[0] = (byte)'l'; ifr[1] = (byte)'o';
            if (Libc.ioctl(s, Libc.SIOCGIFFLAGS, ifr) != 0) throw new IOException(Libc.Error("SIOCGIFFLAGS lo"));
            *(short*)(ifr + 16) |= Libc.IFF_UP;
            if (Libc.ioctl(s, Libc.SIOCSIFFLAGS, ifr) != 0) throw new IOException(Libc.Error("SIOCSIFFLAGS lo"));
        }
        finally { Libc.close(s); }
    }

    public void Dispose() => _thread.Dispose();
}
