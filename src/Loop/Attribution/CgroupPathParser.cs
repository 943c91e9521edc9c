namespace XtcpEpoll.Loop.Attribution;

/// <summary>
/// What a cgroup path says about its owner: a container (id + runtime) and/or a Kubernetes pod. Ranges index
/// the parsed path, so parsing allocates nothing; <see cref="AttributionInterner"/> turns them into strings.
/// </summary>
internal readonly struct CgroupOwner
{
    private readonly string? _runtime;

    public CgroupOwner(string runtime, Range containerId, Range podUid)
    {
        _runtime = runtime;
        ContainerId = containerId;
        PodUid = podUid;
    }

    /// <summary>docker, containerd, crio, podman, cgroupfs (runtime not in the path), or "" without a container.</summary>
    public string Runtime => _runtime ?? "";
    /// <summary>64 hex digits in the path; empty range without a container.</summary>
    public Range ContainerId { get; }
    /// <summary>Pod uid as written in the path (underscores in systemd slice names); empty range without a pod.</summary>
    public Range PodUid { get; }
    public bool HasContainer => Runtime.Length != 0;
    public bool HasPod => !PodUid.Equals(default(Range));
    public bool IsEmpty => !HasContainer && !HasPod;
}

/// <summary>
/// Derives container and pod from cgroup paths, as the runtimes name their cgroups:
/// <list type="bullet">
/// <item>systemd driver: <c>docker-ID.scope</c>, <c>cri-containerd-ID.scope</c>, <c>crio-ID.scope</c>,
/// <c>libpod-ID.scope</c> (the same names without <c>.scope</c> under the cgroupfs driver);</item>
/// <item>cgroupfs driver: a bare 64-hex directory, Docker's <c>/docker/ID</c> (runtime docker) or
/// Kubernetes' <c>/kubepods/QOS/podUID/ID</c> (runtime not in the path: "cgroupfs", as xtcp2 reports it);</item>
/// <item>pods: <c>kubepods[-QOS]-podUID.slice</c> (systemd; uid with underscores for dashes, kind's
/// <c>kubelet-kubepods-…</c> too) or <c>podUID</c> under a <c>kubepods</c> directory (cgroupfs).</item>
/// </list>
/// The deepest component that names a container (and the deepest that names a pod) wins, so a cgroup below
/// a container's (<c>docker-ID.scope/init</c>, systemd inside a container, Docker-in-Docker) belongs to it.
/// Runtime helpers (<c>crio-conmon-ID.scope</c>, <c>libpod-conmon-ID.scope</c>) are not containers: their
/// suffix is not 64 hex digits. Works on v2 paths and on each line of a hybrid host's /proc/PID/cgroup.
/// </summary>
internal static class CgroupPathParser
{
    public const string Docker = "docker", Containerd = "containerd", Crio = "crio", Podman = "podman", Cgroupfs = "cgroupfs";
    public const int ContainerIdLength = 64;

    private static readonly (string Prefix, string Runtime)[] ScopePrefixes =
        [("docker-", Docker), ("cri-containerd-", Containerd), ("crio-", Crio), ("libpod-", Podman)];

    /// <summary>Parses a cgroup path (absolute or relative; "/" separated).</summary>
    public static CgroupOwner Parse(ReadOnlySpan<char> path)
    {
        string runtime = "";
        Range container = default, pod = default;
        bool underDocker = false, underKubepods = false;
        int start = 0;
        while (start <= path.Length)
        {
            int slash = path[start..].IndexOf('/');
            int end = slash < 0 ? path.Length : start + slash;
            var name = path[start..end];
            if (name.Length > 0)
            {
                if (TryContainer(name, underDocker, out var idOffset, out var kind))
                {
                    runtime = kind;
                    container = new Range(start + idOffset, start + idOffset + ContainerIdLength);
                }
                else if (TryPod(name, underKubepods, out var uid))
                {
                    pod = new Range(start + uid.Start.Value, start + uid.End.Value);
                }
                if (name.SequenceEqual(Docker)) underDocker = true;
                if (name.Contains("kubepods", StringComparison.Ordinal)) underKubepods = true;
            }
            if (slash < 0) break;
            start = end + 1;
        }
        return new CgroupOwner(runtime, container, pod);
    }

    /// <summary>
    /// Picks the owner from a /proc/PID/cgroup text ("ID:CONTROLLERS:PATH" lines): the cgroup v2 line
    /// ("0::PATH") first, then the v1 name=systemd line, then the other v1 lines in order; the first line
    /// naming a container wins, else the first naming a pod. On hybrid hosts a runtime using the cgroupfs
    /// driver places containers in the v1 hierarchies only (the v2 line says "/"), hence the v1 lines.
    /// <paramref name="path"/> is the chosen line's path (its ranges index it).
    /// </summary>
    public static CgroupOwner ParseProcCgroup(ReadOnlySpan<char> text, out Range path)
    {
        path = default;
        CgroupOwner podOnly = default;
        Range podOnlyPath = default;
        for (int pass = 0; pass < 3; pass++)
        {
            int lineStart = 0;
            while (lineStart < text.Length)
            {
                int newline = text[lineStart..].IndexOf('\n');
                int lineEnd = newline < 0 ? text.Length : lineStart + newline;
                var line = text[lineStart..lineEnd];
                int firstColon = line.IndexOf(':');
                int secondColon = firstColon < 0 ? -1 : line[(firstColon + 1)..].IndexOf(':');
                if (secondColon >= 0)
                {
                    secondColon += firstColon + 1;
                    var hierarchy = line[..firstColon];
                    var controllers = line[(firstColon + 1)..secondColon];
                    bool isV2 = hierarchy.SequenceEqual("0") && controllers.IsEmpty;
                    bool isSystemd = controllers.SequenceEqual("name=systemd");
                    bool inPass = pass switch { 0 => isV2, 1 => isSystemd, _ => !isV2 && !isSystemd };
                    if (inPass)
                    {
                        int pathStart = lineStart + secondColon + 1;
                        var owner = Parse(text[pathStart..lineEnd]);
                        var linePath = new Range(pathStart, lineEnd);
                        if (owner.HasContainer)
                        {
                            path = linePath;
                            return owner;
                        }
                        if (owner.HasPod && !podOnly.HasPod)
                        {
                            podOnly = owner;
                            podOnlyPath = linePath;
                        }
                    }
                }
                if (newline < 0) break;
                lineStart = lineEnd + 1;
            }
        }
        path = podOnlyPath;
        return podOnly;
    }

    /// <summary>Turns a pod uid as written in a cgroup name into the API's form (dashes), or null if it is not a uid.</summary>
    public static string? NormalizePodUid(ReadOnlySpan<char> raw)
    {
        if (raw.Length > 36) return null;
        Span<char> uid = stackalloc char[raw.Length];
        raw.CopyTo(uid);
        uid.Replace('_', '-');
        return IsPodUid(uid) ? new string(uid) : null;
    }

    private static bool TryContainer(ReadOnlySpan<char> name, bool underDocker, out int idOffset, out string runtime)
    {
        idOffset = 0;
        runtime = "";
        var stem = name.EndsWith(".scope") ? name[..^".scope".Length] : name;
        foreach (var (prefix, kind) in ScopePrefixes)
        {
            if (stem.StartsWith(prefix, StringComparison.Ordinal) && IsContainerId(stem[prefix.Length..]))
            {
                idOffset = prefix.Length;
                runtime = kind;
                return true;
            }
        }
        if (stem.Length == name.Length && IsContainerId(name))
        {
            runtime = underDocker ? Docker : Cgroupfs;
            return true;
        }
        return false;
    }

    private static bool TryPod(ReadOnlySpan<char> name, bool underKubepods, out Range uid)
    {
        uid = default;
        if (name.EndsWith(".slice") && name.Contains("kubepods", StringComparison.Ordinal))
        {
            // kubepods-burstable-pod0a1b2c3d_..._.slice: the uid follows the last "-pod".
            var stem = name[..^".slice".Length];
            int at = stem.LastIndexOf("-pod", StringComparison.Ordinal);
            if (at < 0) return false;
            var raw = stem[(at + 4)..];
            if (!IsPodUidWithUnderscores(raw)) return false;
            uid = new Range(at + 4, at + 4 + raw.Length);
            return true;
        }
        if (underKubepods && name.StartsWith("pod", StringComparison.Ordinal) && IsPodUid(name[3..]))
        {
            uid = new Range(3, name.Length);
            return true;
        }
        return false;
    }

    private static bool IsContainerId(ReadOnlySpan<char> s)
    {
        if (s.Length != ContainerIdLength) return false;
        foreach (var c in s)
            if (!char.IsAsciiHexDigitLower(c) && !char.IsAsciiDigit(c)) return false;
        return true;
    }

    private static bool IsPodUidWithUnderscores(ReadOnlySpan<char> raw)
    {
        if (raw.Length > 36) return false;
        Span<char> uid = stackalloc char[raw.Length];
        raw.CopyTo(uid);
        uid.Replace('_', '-');
        return IsPodUid(uid);
    }

    /// <summary>A UUID (8-4-4-4-12 lowercase hex) or a 32-hex static-pod hash.</summary>
    private static bool IsPodUid(ReadOnlySpan<char> s)
    {
        if (s.Length == 32)
        {
            foreach (var c in s)
                if (!char.IsAsciiHexDigitLower(c) && !char.IsAsciiDigit(c)) return false;
            return true;
        }
        if (s.Length != 36) return false;
        for (int i = 0; i < s.Length; i++)
        {
            bool dash = i is 8 or 13 or 18 or 23;
            if (dash ? s[i] != '-' : !char.IsAsciiHexDigitLower(s[i]) && !char.IsAsciiDigit(s[i])) return false;
        }
        return true;
    }
}
