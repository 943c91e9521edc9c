using System.IO.Enumeration;
using System.Text;
using XtcpEpoll.Netlink.Native;
using XtcpEpoll.Sinks.Records;

namespace XtcpEpoll.Loop.Attribution;

/// <summary>
/// Finds, in ONE pass over /proc, a process living in each of a set of network namespaces and what its
/// cgroup says: for every process, stat /proc/PID/ns/net (its namespace's nsfs inode); only for processes of
/// a wanted namespace, read /proc/PID/cgroup. So the cost is one stat per process plus one small read per
/// process of a wanted namespace, whatever the number of namespaces (a pass per namespace would be
/// namespaces x processes). The pass allocates no string per process (paths are built in fixed buffers).
/// Per namespace the process kept is the lowest pid naming a container, else a pod, else any: in a pod's
/// namespace that is the sandbox (pause) container, which starts first; in a Docker container's, its init.
/// </summary>
internal sealed class NamespaceProcessFinder
{
    /// <summary>A /proc/PID/cgroup of a hybrid host is ~13 lines; 16 KiB holds hundreds.</summary>
    private const int CgroupFileBytes = 16 * 1024;
    private readonly byte[] _path = new byte[64];
    private readonly byte[] _file = new byte[CgroupFileBytes];
    private readonly char[] _text = new char[CgroupFileBytes];
    private readonly string _procRoot;
    private static readonly EnumerationOptions Options = new() { RecurseSubdirectories = false, IgnoreInaccessible = true, AttributesToSkip = 0 };

    public NamespaceProcessFinder(string procRoot = "/proc") => _procRoot = procRoot;

    /// <summary>The process kept for a namespace and the attribution its cgroup gives (None: neither container nor pod).</summary>
    public readonly record struct Found(int Pid, RecordAttribution Attribution);

    /// <summary>What one pass did.</summary>
    public readonly record struct Stats(int Processes, int Denied, int CgroupReads);

    /// <summary>
    /// Fills <paramref name="into"/> with an entry per wanted namespace inode that has a process; namespaces
    /// with no (visible) process get none.
    /// </summary>
    public Stats Scan(HashSet<ulong> wanted, Dictionary<ulong, Found> into, AttributionInterner interner)
    {
        int processes = 0, denied = 0, reads = 0;
        var pids = new FileSystemEnumerable<int>(_procRoot, static (ref FileSystemEntry entry) => ParsePid(entry.FileName), Options)
        {
            ShouldIncludePredicate = static (ref FileSystemEntry entry) => entry.IsDirectory && ParsePid(entry.FileName) > 0,
        };
        foreach (int pid in pids)
        {
            processes++;
            int n = ProcFiles.ProcPath(pid, "ns/net"u8, _path);
            ulong inode = ProcFiles.Stat(_path.AsSpan(0, n + 1), out int errno).Inode;
            if (inode == 0)
            {
                if (errno == Tmds.Linux.LibC.EACCES || errno == Tmds.Linux.LibC.EPERM) denied++;
                continue; // exited, a kernel thread, or not ours to look at
            }
            if (!wanted.Contains(inode)) continue;
            into.TryGetValue(inode, out var kept);
            bool haveKept = kept.Attribution != null;
            if (haveKept && Rank(kept.Attribution!) == 2 && kept.Pid < pid) continue; // already the best possible
            reads++;
            var attribution = ReadAttribution(pid, interner);
            if (attribution == null) continue; // exited meanwhile
            if (!haveKept || Rank(attribution) > Rank(kept.Attribution!) || (Rank(attribution) == Rank(kept.Attribution!) && pid < kept.Pid))
                into[inode] = new Found(pid, attribution);
        }
        return new Stats(processes, denied, reads);
    }

    /// <summary>Container (2) beats pod only (1) beats neither (0).</summary>
    private static int Rank(RecordAttribution a) => a.ContainerId.Length != 0 ? 2 : a.PodUid.Length != 0 ? 1 : 0;

    private RecordAttribution? ReadAttribution(int pid, AttributionInterner interner)
    {
        int n = ProcFiles.ProcPath(pid, "cgroup"u8, _path);
        int bytes = ProcFiles.ReadSmall(_path.AsSpan(0, n + 1), _file);
        if (bytes < 0) return null;
        int chars = Encoding.UTF8.GetChars(_file.AsSpan(0, bytes), _text);
        var text = _text.AsSpan(0, chars);
        var owner = CgroupPathParser.ParseProcCgroup(text, out var path);
        return interner.From(text[path], owner);
    }

    private static int ParsePid(ReadOnlySpan<char> name)
    {
        if (name.Length == 0 || name.Length > 10) return -1;
        int pid = 0;
        foreach (var c in name)
        {
            if (!char.IsAsciiDigit(c)) return -1;
            pid = pid * 10 + (c - '0');
        }
        return pid;
    }
}
