using XtcpEpoll.Netlink.Native;

namespace XtcpEpoll.Loop.Namespaces;

/// <summary>A path that may name a network namespace, found by a scan or an inotify event.</summary>
public readonly record struct NamespaceCandidate(string Path, string? BindName, ulong Dev, ulong Inode);

/// <summary>
/// Finds namespace candidates: bind mounts in the watched directories and (optionally) every distinct
/// /proc/&lt;pid&gt;/ns/net. Identity is the nsfs inode; a file whose device is not nsfs (e.g. the empty
/// placeholder `ip netns add` creates just before it bind-mounts) is reported with its own dev so the
/// caller can tell it apart. Owner: the control thread (it keeps no state between scans).
/// </summary>
public sealed class NamespaceScanner
{
    public NamespaceScanner()
    {
        var host = Files.Stat(NetNamespace.ProcessPath);
        (NsfsDev, HostInode) = (host.Device, host.Inode);
        if (HostInode == 0) throw new InvalidOperationException("cannot stat /proc/self/ns/net");
    }

    /// <summary>Device number of nsfs (every namespace file shares it).</summary>
    public ulong NsfsDev { get; }

    /// <summary>Inode of the daemon's own (host) namespace.</summary>
    public ulong HostInode { get; }

    public bool IsNamespace(in NamespaceCandidate candidate) => candidate.Dev == NsfsDev && candidate.Inode != 0;

    public static NamespaceCandidate Probe(string path, string? bindName)
    {
        var status = Files.Stat(path);
        return new NamespaceCandidate(path, bindName, status.Device, status.Inode);
    }

    public void ScanDirectory(string dir, List<NamespaceCandidate> into)
    {
        IEnumerable<string> files;
        try { files = Directory.EnumerateFiles(dir); }
        catch (DirectoryNotFoundException) { return; }
        catch (IOException) { return; }
        try
        {
            foreach (var path in files) into.Add(Probe(path, Path.GetFileName(path)));
        }
        catch (DirectoryNotFoundException) { }
    }

    /// <summary>One candidate per distinct namespace inode among /proc/&lt;pid&gt;/ns/net.</summary>
    public void ScanProc(List<NamespaceCandidate> into)
    {
        var seen = new HashSet<ulong>();
        foreach (var pidDir in Directory.EnumerateDirectories("/proc"))
        {
            var name = Path.GetFileName(pidDir);
            if (name.Length == 0 || !char.IsAsciiDigit(name[0])) continue;
            var candidate = Probe(pidDir + "/ns/net", null);
            if (candidate.Inode == 0 || candidate.Dev != NsfsDev || !seen.Add(candidate.Inode)) continue;
            into.Add(candidate);
        }
    }
}
