using System.IO.Enumeration;
using XtcpEpoll.Netlink.Native;
using XtcpEpoll.Sinks.Records;

namespace XtcpEpoll.Loop.Attribution;

/// <summary>
/// One walk of the cgroup v2 hierarchy: every directory whose path names a container or a pod is stat'ed
/// for its inode, which is the cgroup id the kernel reports as INET_DIAG_CGROUP_ID (on 64-bit kernels the
/// kernfs id, never reused). Directories naming neither are only listed (no stat): a socket in one of them
/// is not in a container, and the cache learns that from its first miss. Runs on the attribution thread.
/// </summary>
internal sealed class CgroupWalker
{
    private readonly string _root;
    private readonly char[] _path = new char[ProcFiles.MaxPath];
    private readonly byte[] _utf8 = new byte[ProcFiles.MaxPath];
    private static readonly EnumerationOptions Options = new()
    {
        RecurseSubdirectories = true, IgnoreInaccessible = true, AttributesToSkip = 0, ReturnSpecialDirectories = false,
    };

    public CgroupWalker(string root) => _root = root.TrimEnd('/') is { Length: > 0 } trimmed ? trimmed : "/";

    public string Root => _root;

    /// <summary>What one walk saw.</summary>
    public readonly record struct Result(int Directories, int Owned, bool Truncated, bool RootMissing);

    /// <summary>
    /// Adds inode → attribution for every container or pod cgroup (at most <paramref name="maxEntries"/>;
    /// more is reported as truncated) to <paramref name="into"/>.
    /// </summary>
    public Result Walk(AttributionInterner interner, Dictionary<ulong, RecordAttribution> into, int maxEntries)
    {
        if (!Directory.Exists(_root)) return new Result(0, 0, false, RootMissing: true);
        int directories = 0, owned = 0;
        bool truncated = false;
        var entries = new FileSystemEnumerable<bool>(_root, (ref FileSystemEntry entry) =>
        {
            directories++;
            int length = FullPath(ref entry);
            if (length < 0) return false;
            var path = _path.AsSpan(0, length);
            var owner = CgroupPathParser.Parse(path);
            if (owner.IsEmpty) return false;
            if (into.Count >= maxEntries)
            {
                truncated = true;
                return false;
            }
            int n = ProcFiles.Encode(path, _utf8);
            if (n < 0) return false;
            ulong inode = ProcFiles.Stat(_utf8.AsSpan(0, n + 1), out _).Inode;
            if (inode == 0) return false; // removed while we walked
            into[inode] = interner.From(path, owner);
            owned++;
            return true;
        }, Options)
        {
            ShouldIncludePredicate = (ref FileSystemEntry entry) => entry.IsDirectory,
        };
        foreach (var _ in entries) { }
        return new Result(directories, owned, truncated, RootMissing: false);
    }

    /// <summary>parent + '/' + name into the path buffer; -1 if longer than PATH_MAX.</summary>
    private int FullPath(ref FileSystemEntry entry)
    {
        var parent = entry.Directory;
        var name = entry.FileName;
        int length = parent.Length + 1 + name.Length;
        if (length > _path.Length) return -1;
        parent.CopyTo(_path);
        _path[parent.Length] = '/';
        name.CopyTo(_path.AsSpan(parent.Length + 1));
        return length;
    }
}
