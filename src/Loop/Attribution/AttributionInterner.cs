using XtcpEpoll.Sinks.Records;

namespace XtcpEpoll.Loop.Attribution;

/// <summary>
/// One shared <see cref="RecordAttribution"/> per distinct (container, runtime, pod), named by the
/// <see cref="PodNamer"/> when there is one: every cgroup of a
/// container (its scope and sub-cgroups) and every namespace it owns stamp records with the same object,
/// encoded to UTF-8 once. Used by the attribution thread only (not thread-safe). Bounded: past
/// <see cref="MaxEntries"/> it starts over (sharing is an optimisation; correctness does not depend on it).
/// </summary>
internal sealed class AttributionInterner
{
    public const int MaxEntries = 65_536;
    private readonly Dictionary<(string Container, string Runtime, string Pod), RecordAttribution> _byKey = new();
    private readonly PodNamer? _namer;

    /// <param name="namer">Names pod attributions from the kubelet's log tree; null = ids only.</param>
    public AttributionInterner(PodNamer? namer = null) => _namer = namer;

    public int Count => _byKey.Count;

    /// <summary>The attribution a parsed path names (<paramref name="path"/> is what <paramref name="owner"/>'s ranges index).</summary>
    public RecordAttribution From(ReadOnlySpan<char> path, in CgroupOwner owner)
    {
        if (owner.IsEmpty) return RecordAttribution.None;
        string container = owner.HasContainer ? new string(path[owner.ContainerId]) : "";
        string pod = owner.HasPod ? CgroupPathParser.NormalizePodUid(path[owner.PodUid]) ?? "" : "";
        return Get(container, owner.Runtime, pod);
    }

    public RecordAttribution Get(string containerId, string runtime, string podUid)
    {
        var key = (containerId, runtime, podUid);
        if (_byKey.TryGetValue(key, out var known)) return known;
        if (_byKey.Count >= MaxEntries) _byKey.Clear();
        var created = RecordAttribution.Create(containerId, runtime, podUid);
        if (_namer != null) created = _namer.Name(created);
        _byKey[key] = created;
        return created;
    }
}
