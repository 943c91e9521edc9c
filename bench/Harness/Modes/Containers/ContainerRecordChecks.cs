using XtcpEpoll.Bench.Harness.Measure;
using XtcpEpoll.Bench.Harness.Population.Containers;

namespace XtcpEpoll.Bench.Harness.Modes.Containers;

/// <summary>
/// The soak's checks on the collector's records against what the harness knows of its containers:
/// attribution of every record of a container's sockets, one destroy record per socket of each connection a
/// container closed, no record attributed to a removed container after its removal (destroy records aside),
/// and each private namespace alive for a whole poll present in that poll.
/// </summary>
internal sealed class ContainerRecordChecks
{
    public const string Runtime = "podman";

    // Attribution: records of container sockets, by outcome (TIME_WAIT and SYN_RECV carry no cgroup: counted apart).
    public long Attributed, Unattributed, Misattributed, NoCgroupStates;
    /// <summary>Records without an id within the attribution window after the container's start (documented latency: not judged).</summary>
    public long UnattributedFresh;
    /// <summary>Of <see cref="Unattributed"/>: destroy records (the kernel's destroy event carries no cgroup id).</summary>
    public long UnattributedDestroy;
    /// <summary>Of <see cref="Unattributed"/>: in the host network (found by the socket's cgroup only).</summary>
    public long UnattributedHostNetwork;
    public long DestroyExpected, DestroyOnce, DestroyMissing, DestroyDuplicated;
    public long AfterRemoval;
    public long NamespacePollsExpected, NamespacePollsSeen, NamespacePollsInTimedOut, NamespacePollsMissedInTimedOut;
    public int Polls, TimedOutPolls;
    public List<string> Examples { get; } = new();

    /// <summary>How long after its removal started a container's destroy records may arrive.</summary>
    private static readonly long DestroyWindowNs = TimeSpan.FromSeconds(60).Ticks * 100;

    public static ContainerRecordChecks Evaluate(IReadOnlyList<SocketRecord> records, IReadOnlyList<SoakContainer> containers, ulong hostInode,
        HashSet<long> timedOutPolls, TimeSpan grace, TimeSpan timeout, TimeSpan attributionWindow)
    {
        var r = new ContainerRecordChecks { _windowNs = attributionWindow.Ticks * 100 };
        var byInode = new Dictionary<ulong, List<SoakContainer>>();
        var byPort = new Dictionary<int, List<SoakContainer>>();
        var byId = new Dictionary<string, SoakContainer>(StringComparer.Ordinal);
        foreach (var c in containers)
        {
            byId[c.Id] = c;
            if (c.HostNetwork) Add(byPort, c.Port, c);
            else if (c.NetnsInode != 0) Add(byInode, c.NetnsInode, c);
        }

        var destroys = new Dictionary<(ulong, int, int), List<long>>();
        var pollInodes = new SortedDictionary<long, HashSet<ulong>>();
        foreach (var rec in records)
        {
            if (rec.Destroy) Add(destroys, (rec.NetnsInode, rec.SourcePort, rec.DestinationPort), rec.TimestampNs);
            else
            {
                if (!pollInodes.TryGetValue(rec.TimestampNs, out var set)) pollInodes[rec.TimestampNs] = set = new HashSet<ulong>();
                set.Add(rec.NetnsInode);
            }

            var owner = Owner(rec, hostInode, byInode, byPort);
            if (owner != null) r.JudgeAttribution(rec, owner);
            if (!rec.Destroy && rec.ContainerId.Length > 0 && byId.TryGetValue(rec.ContainerId, out var named)
                && named.RemovedNs > 0 && rec.TimestampNs > named.RemovedNs)
            {
                r.AfterRemoval++;
                r.Example("after removal", $"record of removed container {named.Name} ({Short(named.Id)}) in poll {rec.TimestampNs}, {(rec.TimestampNs - named.RemovedNs) / 1e6:F0} ms after its removal (ports {rec.SourcePort}->{rec.DestinationPort}, state {rec.State})");
            }
        }

        foreach (var c in containers)
        {
            if (c.RemovedNs == 0) continue;
            foreach (var s in c.ClosedSockets)
            {
                r.DestroyExpected++;
                int n = 0;
                if (destroys.TryGetValue((c.NetnsInode, s.LocalPort, s.RemotePort), out var times))
                    foreach (var t in times) if (t >= c.RemoveStartNs - TimeSpan.TicksPerSecond * 100 && t <= c.RemoveStartNs + DestroyWindowNs) n++;
                if (n == 1) r.DestroyOnce++;
                else if (n == 0) { r.DestroyMissing++; r.Example("destroy missing", $"no destroy record for {c.Name} ({(c.HostNetwork ? "host network" : "own netns")}) socket {s.LocalPort}->{s.RemotePort}"); }
                else { r.DestroyDuplicated++; r.Example("destroy duplicated", $"{n} destroy records for {c.Name} socket {s.LocalPort}->{s.RemotePort}"); }
            }
        }

        long graceNs = grace.Ticks * 100, timeoutNs = timeout.Ticks * 100;
        foreach (var (poll, inodes) in pollInodes)
        {
            bool timedOut = timedOutPolls.Contains(poll);
            bool any = false;
            foreach (var c in containers)
            {
                if (c.HostNetwork || c.ReadyNs == 0 || c.ReadyNs > poll - graceNs) continue;
                if (c.RemoveStartNs == 0 || c.RemoveStartNs < poll + timeoutNs) continue;
                any = true;
                bool seen = inodes.Contains(c.NetnsInode);
                if (timedOut) { r.NamespacePollsInTimedOut++; if (!seen) r.NamespacePollsMissedInTimedOut++; continue; }
                r.NamespacePollsExpected++;
                if (seen) r.NamespacePollsSeen++;
                else r.Example("namespace missing", $"namespace of {c.Name} (inode {c.NetnsInode}) missing from poll {poll}");
            }
            if (!any) continue;
            r.Polls++;
            if (timedOut) r.TimedOutPolls++;
        }
        return r;
    }

    /// <summary>
    /// The container whose socket a record is: in a private namespace, the container living in it at that time;
    /// in the host's, the host-network container whose port is the socket's local or peer port.
    /// </summary>
    private static SoakContainer? Owner(in SocketRecord rec, ulong hostInode, Dictionary<ulong, List<SoakContainer>> byInode, Dictionary<int, List<SoakContainer>> byPort)
    {
        if (rec.NetnsInode == hostInode || rec.DefaultNetns)
        {
            return During(byPort.GetValueOrDefault(rec.SourcePort), rec) ?? During(byPort.GetValueOrDefault(rec.DestinationPort), rec);
        }
        // A removed container's namespace inode is often reused at once by the next container's, while `podman rm`
        // is still running: both time windows match, the ports tell them apart (every socket of the workload has
        // its container's port at one end).
        return During(byInode.GetValueOrDefault(rec.NetnsInode), rec, byPorts: true);
    }

    private static SoakContainer? During(List<SoakContainer>? candidates, in SocketRecord rec, bool byPorts = false)
    {
        if (candidates == null) return null;
        foreach (var c in candidates)
        {
            if (byPorts && rec.SourcePort != c.Port && rec.DestinationPort != c.Port) continue;
            long end = c.RemovedNs == 0 ? long.MaxValue : rec.Destroy ? c.RemoveStartNs + DestroyWindowNs : c.RemovedNs;
            if (rec.TimestampNs >= c.StartedNs && rec.TimestampNs <= end) return c;
        }
        return null;
    }

    private long _windowNs;

    private void JudgeAttribution(in SocketRecord rec, SoakContainer owner)
    {
        if (rec.State is TcpEntry.TimeWait or 3 or 12) { NoCgroupStates++; return; } // TIME_WAIT, SYN_RECV, NEW_SYN_RECV
        if (rec.ContainerId == owner.Id && rec.Runtime == Runtime) { Attributed++; return; }
        string category;
        if (rec.ContainerId.Length == 0)
        {
            if (!rec.Destroy && rec.TimestampNs < owner.StartedNs + _windowNs) { UnattributedFresh++; return; }
            Unattributed++;
            if (owner.HostNetwork) UnattributedHostNetwork++;
            if (rec.Destroy) UnattributedDestroy++;
            category = rec.Destroy ? "unattributed destroy" : "unattributed";
        }
        else { Misattributed++; category = "misattributed"; }
        Example(category, $"{(rec.Destroy ? "destroy" : "poll")} record {rec.TimestampNs} of {owner.Name} ({(owner.HostNetwork ? "host network" : "own netns")}, {Short(owner.Id)}, started {(rec.TimestampNs - owner.StartedNs) / 1e6:F0} ms before) ports {rec.SourcePort}->{rec.DestinationPort} state {rec.State}: id '{Short(rec.ContainerId)}' runtime '{rec.Runtime}'");
    }

    private readonly Dictionary<string, int> _examplesPerCategory = new(StringComparer.Ordinal);

    /// <summary>Up to 3 examples per kind of problem, so one frequent kind does not hide the others.</summary>
    private void Example(string category, string text)
    {
        int n = _examplesPerCategory.GetValueOrDefault(category);
        if (n >= 3) return;
        _examplesPerCategory[category] = n + 1;
        Examples.Add($"{category}: {text}");
    }

    private static string Short(string id) => id.Length > 12 ? id[..12] : id;

    private static void Add<TKey, TValue>(Dictionary<TKey, List<TValue>> map, TKey key, TValue value) where TKey : notnull
    {
        if (!map.TryGetValue(key, out var list)) map[key] = list = new List<TValue>();
        list.Add(value);
    }
}
