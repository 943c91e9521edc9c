using XtcpEpoll.Sinks.Records;

namespace XtcpEpoll.Loop.Attribution;

/// <summary>
/// Pod and container names as the kubelet writes them on the node's disk, so that no API server or runtime
/// socket has to be asked:
/// <list type="bullet">
/// <item><c>PODLOGS/&lt;namespace&gt;_&lt;pod-name&gt;_&lt;pod-uid&gt;/&lt;container-name&gt;/&lt;restart&gt;.log</c>
/// (--pod-logs-dir, default /var/log/pods): the kubelet builds this path and hands it to the runtime, so
/// containerd and CRI-O share it (stable since Kubernetes 1.14);</item>
/// <item><c>CONTAINERLOGS/&lt;pod-name&gt;_&lt;namespace&gt;_&lt;container-name&gt;-&lt;container-id&gt;.log</c>
/// (--container-logs-dir, default /var/log/containers): symlinks into the first tree, the only place that ties a
/// container id to its name. Their names are cut at 255 bytes, so the names come from the link target and only the
/// id from the link's own name (a cut id is kept as a prefix).</item>
/// </list>
/// Kubernetes names cannot contain '_', so splitting on it is safe; anything else is malformed (skipped and
/// counted). A static pod's directory uid is its config hash, which is also the uid in its cgroup path.
/// <para>
/// Bounded, and forgetful only slowly: what a scan no longer sees (a pod just deleted) moves to a retired set of
/// <see cref="MaxRetired"/> entries, so destroy records of the pod's last sockets are still named. Used by the
/// attribution thread only (not thread-safe); scans allocate, lookups do not.
/// </para>
/// </summary>
internal sealed class KubeletLogTree
{
    public const int MaxLive = 65_536;
    public const int MaxRetired = 4_096;
    /// <summary>Cut container ids kept as prefixes (links of pods with very long names); looked through linearly.</summary>
    public const int MaxPrefixes = 256;

    internal readonly record struct PodNames(string Namespace, string Name);
    internal readonly record struct ContainerNames(string PodUid, string Name);

    /// <summary>What a scan saw: entries read, names skipped as malformed (new ones only), directories it could not read.</summary>
    internal readonly record struct ScanResult(int Pods, int Containers, int Malformed, string? UnreadablePodDir, string? UnreadableContainerDir);

    private readonly string? _podLogsDir, _containerLogsDir;
    private Dictionary<string, PodNames> _pods = new(), _retiredPods = new();
    private Dictionary<string, ContainerNames> _containers = new(), _retiredContainers = new();
    private readonly List<(string Prefix, ContainerNames Names)> _prefixes = new();
    private readonly HashSet<string> _malformedSeen = new();

    /// <param name="podLogsDir">The kubelet's podLogsDir, or null (not read).</param>
    /// <param name="containerLogsDir">The directory of container log links, or null (not read).</param>
    public KubeletLogTree(string? podLogsDir, string? containerLogsDir)
    {
        _podLogsDir = podLogsDir;
        _containerLogsDir = containerLogsDir;
    }

    public string? PodLogsDir => _podLogsDir;
    public string? ContainerLogsDir => _containerLogsDir;

    /// <summary>Reads both directories again; what is gone is retired, not forgotten.</summary>
    public ScanResult Scan()
    {
        var pods = new Dictionary<string, PodNames>(Math.Max(16, _pods.Count));
        var containers = new Dictionary<string, ContainerNames>(Math.Max(16, _containers.Count));
        int malformed = 0;
        string? unreadablePods = null, unreadableContainers = null;
        var podEntries = List(_podLogsDir);
        if (_podLogsDir != null && podEntries == null) unreadablePods = _podLogsDir;
        else if (podEntries != null)
        {
            foreach (var path in podEntries)
            {
                if (pods.Count >= MaxLive) break;
                var name = Path.GetFileName(path);
                if (TryParsePodDir(name, out var ns, out var pod, out var uid)) pods[uid] = Intern(uid, ns, pod);
                else malformed += Malformed(name);
            }
        }
        var linkEntries = List(_containerLogsDir);
        if (_containerLogsDir != null && linkEntries == null) unreadableContainers = _containerLogsDir;
        else if (linkEntries != null)
        {
            _prefixes.Clear();
            foreach (var path in linkEntries)
            {
                if (containers.Count >= MaxLive) break;
                var name = Path.GetFileName(path);
                if (!TryParseLink(name, LinkTarget(path), out var id, out var uid, out var ns, out var pod, out var container))
                {
                    malformed += Malformed(name);
                    continue;
                }
                if (uid.Length != 0 && pods.Count < MaxLive && !pods.ContainsKey(uid)) pods[uid] = Intern(uid, ns, pod);
                var names = new ContainerNames(uid, container);
                if (id.Length == RecordAttribution.MaxContainerIdLength) containers[id] = names;
                else if (_prefixes.Count < MaxPrefixes) _prefixes.Add((id, names));
            }
        }
        // A directory that could not be read this time keeps what it showed before (an error is no deletion).
        _pods = Replace(_pods, unreadablePods == null && _podLogsDir != null ? pods : Merge(_pods, pods), _retiredPods);
        _containers = Replace(_containers, unreadableContainers == null && _containerLogsDir != null ? containers : Merge(_containers, containers), _retiredContainers);
        return new ScanResult(_pods.Count, _containers.Count, malformed, unreadablePods, unreadableContainers);
    }

    /// <summary>The names of the pod with this uid (dashes, or a static pod's 32-hex hash), live or retired.</summary>
    public bool TryPod(string uid, out PodNames names) =>
        _pods.TryGetValue(uid, out names) || _retiredPods.TryGetValue(uid, out names);

    /// <summary>The name (and pod uid) of the container with this 64-hex id, live or retired.</summary>
    public bool TryContainer(string id, out ContainerNames names)
    {
        if (_containers.TryGetValue(id, out names) || _retiredContainers.TryGetValue(id, out names)) return true;
        foreach (var (prefix, candidate) in _prefixes)
        {
            if (id.StartsWith(prefix, StringComparison.Ordinal))
            {
                names = candidate;
                return true;
            }
        }
        return false;
    }

    /// <summary><c>namespace_name_uid</c>, each part a valid length of ASCII without '_'.</summary>
    internal static bool TryParsePodDir(string dir, out string ns, out string pod, out string uid)
    {
        ns = pod = uid = "";
        var span = dir.AsSpan();
        int first = span.IndexOf('_');
        if (first <= 0) return false;
        int second = span[(first + 1)..].IndexOf('_');
        if (second <= 0) return false;
        second += first + 1;
        var nsPart = span[..first];
        var podPart = span[(first + 1)..second];
        var uidPart = span[(second + 1)..];
        if (uidPart.Length == 0 || uidPart.Contains('_')) return false;
        if (!IsName(nsPart, RecordAttribution.MaxLabelNameLength) || !IsName(podPart, RecordAttribution.MaxPodNameLength)
            || !IsName(uidPart, RecordAttribution.MaxPodUidLength)) return false;
        ns = nsPart.ToString();
        pod = podPart.ToString();
        uid = uidPart.ToString();
        return true;
    }

    /// <summary>
    /// A link <c>pod_namespace_container-id.log</c>: names from its target <c>…/namespace_pod_uid/container/N.log</c>
    /// when it has one, the id from the link's name (possibly cut short). Without a readable target the names
    /// come from the link's name and the uid stays empty.
    /// </summary>
    internal static bool TryParseLink(string link, string? target, out string id, out string uid, out string ns, out string pod, out string container)
    {
        id = uid = ns = pod = container = "";
        if (!link.EndsWith(".log", StringComparison.Ordinal)) return false;
        var stem = link.AsSpan(0, link.Length - ".log".Length);
        if (target != null && TryParseTarget(target, out uid, out ns, out pod, out container))
        {
            // The link's name is "<pod>_<ns>_<container>-<id>", cut at 255 bytes: the id is what follows the prefix.
            int prefix = pod.Length + 1 + ns.Length + 1 + container.Length + 1;
            if (stem.Length <= prefix || !stem.StartsWith($"{pod}_{ns}_{container}-", StringComparison.Ordinal)) return false;
            id = stem[prefix..].ToString();
            return IsHex(id);
        }
        // No target: "<pod>_<ns>_<container>-<id>" (container names may hold '-', ids never do).
        int first = stem.IndexOf('_');
        int second = first < 0 ? -1 : stem[(first + 1)..].IndexOf('_');
        if (first <= 0 || second <= 0) return false;
        second += first + 1;
        var rest = stem[(second + 1)..];
        int dash = rest.LastIndexOf('-');
        if (dash <= 0 || rest[..dash].Contains('_')) return false;
        var podPart = stem[..first];
        var nsPart = stem[(first + 1)..second];
        var containerPart = rest[..dash];
        if (!IsName(podPart, RecordAttribution.MaxPodNameLength) || !IsName(nsPart, RecordAttribution.MaxLabelNameLength)
            || !IsName(containerPart, RecordAttribution.MaxLabelNameLength)) return false;
        id = rest[(dash + 1)..].ToString();
        if (!IsHex(id)) return false;
        pod = podPart.ToString();
        ns = nsPart.ToString();
        container = containerPart.ToString();
        return true;
    }

    private static bool TryParseTarget(string target, out string uid, out string ns, out string pod, out string container)
    {
        uid = ns = pod = container = "";
        var span = target.AsSpan().TrimEnd('/');
        int fileSlash = span.LastIndexOf('/');
        if (fileSlash <= 0) return false;
        var dirs = span[..fileSlash];
        int containerSlash = dirs.LastIndexOf('/');
        if (containerSlash < 0) return false;
        var containerPart = dirs[(containerSlash + 1)..];
        var podDirs = dirs[..containerSlash];
        var podDir = podDirs[(podDirs.LastIndexOf('/') + 1)..];
        if (!IsName(containerPart, RecordAttribution.MaxLabelNameLength) || !TryParsePodDir(podDir.ToString(), out ns, out pod, out uid)) return false;
        container = containerPart.ToString();
        return true;
    }

    private static bool IsName(ReadOnlySpan<char> part, int max)
    {
        if (part.Length == 0 || part.Length > max) return false;
        foreach (var c in part)
        {
            if (c is '_' or '/' || c <= ' ' || c > '~') return false;
        }
        return true;
    }

    private static bool IsHex(string id)
    {
        if (id.Length == 0 || id.Length > RecordAttribution.MaxContainerIdLength) return false;
        foreach (var c in id)
        {
            if (!char.IsAsciiHexDigitLower(c) && !char.IsAsciiDigit(c)) return false;
        }
        return true;
    }

    private PodNames Intern(string uid, string ns, string pod) =>
        _pods.TryGetValue(uid, out var known) && known.Namespace == ns && known.Name == pod ? known : new PodNames(ns, pod);

    /// <summary>1 the first time a name is seen malformed, 0 after (a bad entry is counted once, not at every scan).</summary>
    private int Malformed(string name)
    {
        if (_malformedSeen.Count >= MaxRetired) _malformedSeen.Clear();
        return _malformedSeen.Add(name) ? 1 : 0;
    }

    /// <summary>The entries of <paramref name="dir"/>; null when it is null, missing or unreadable.</summary>
    private static List<string>? List(string? dir)
    {
        if (dir == null) return null;
        try { return [.. Directory.EnumerateFileSystemEntries(dir)]; }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { return null; }
    }

    private static string? LinkTarget(string path)
    {
        try { return new FileInfo(path).LinkTarget; }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { return null; }
    }

    private static Dictionary<TKey, TValue> Merge<TKey, TValue>(Dictionary<TKey, TValue> old, Dictionary<TKey, TValue> seen) where TKey : notnull
    {
        foreach (var (key, value) in old)
        {
            if (seen.Count >= MaxLive) break;
            seen.TryAdd(key, value);
        }
        return seen;
    }

    /// <summary>Entries of <paramref name="old"/> that <paramref name="next"/> lacks go to <paramref name="retired"/> (bounded).</summary>
    private static Dictionary<TKey, TValue> Replace<TKey, TValue>(Dictionary<TKey, TValue> old, Dictionary<TKey, TValue> next, Dictionary<TKey, TValue> retired) where TKey : notnull
    {
        foreach (var (key, value) in old)
        {
            if (next.ContainsKey(key)) continue;
            if (retired.Count >= MaxRetired) retired.Clear();
            retired[key] = value;
        }
        foreach (var key in next.Keys) retired.Remove(key);
        return next;
    }
}
