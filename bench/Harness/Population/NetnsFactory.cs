using Tmds.Linux;
using XtcpEpoll.Bench.Harness.Native;
using XtcpEpoll.Netlink.Native;

namespace XtcpEpoll.Bench.Harness.Population;

/// <summary>
/// Creates network namespaces as bind-mounted nsfs files (like `ip netns add`, without a process per
/// namespace): unshare(CLONE_NEWNET) on the namespace thread, bind-mount /proc/thread-self/ns/net onto the
/// file, bring `lo` up from inside, return home. Deletion is umount + unlink; the kernel frees the namespace
/// once the last socket in it is closed.
/// </summary>
internal sealed class NetnsFactory : IDisposable
{
    private readonly NamespaceThread _thread = new("netns-factory");

    /// <summary>Creates the namespace file at <paramref name="path"/> and returns the namespace inode.</summary>
    public ulong Create(string path)
    {
        using (var file = Files.Open(path, LibC.O_RDONLY | LibC.O_CREAT | LibC.O_EXCL | LibC.O_CLOEXEC, 0, out int errno))
            if (file == null) throw new IOException($"create {path}: {Errno.Describe(errno)}");
        try
        {
            return _thread.Run(() =>
            {
                int errno = NetNamespace.EnterNew();
                if (errno != 0) throw new IOException($"unshare(CLONE_NEWNET): {Errno.Describe(errno)}");
                errno = Mounts.Bind(NetNamespace.ThreadPath, path);
                if (errno != 0) throw new IOException($"bind-mount netns onto {path}: {Errno.Describe(errno)}");
                errno = NetInterfaces.BringUp("lo");
                if (errno != 0) throw new IOException($"bringing lo up: {Errno.Describe(errno)}");
                ulong inode = Files.Stat(path).Inode;
                return inode != 0 ? inode : throw new IOException($"stat {path}: {Errno.Describe(Errno.Last)}");
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
        Mounts.Detach(path);
        try { File.Delete(path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    public void Dispose() => _thread.Dispose();
}
