using XtcpEpoll.Loop.Attribution;
using XtcpEpoll.Sinks.Records;

namespace XtcpEpoll.Loop.Namespaces;

/// <summary>
/// Which network namespaces exist and which of them have a socket, keyed by nsfs inode (a namespace reachable
/// by several paths is one entry). Pure bookkeeping on the control thread: events come in (scan results,
/// inotify appear/disappear, placeholder re-probes, open results, each with the time) and decisions go out
/// through <see cref="INamespaceRegistryActions"/> (open, attach, detach, discard). It reads no file, so it
/// is tested with synthetic candidates (tests/Loop/NamespaceRegistryTests), without /run mounts.
/// Owner: the control thread (every member, and the entries).
/// </summary>
internal sealed class NamespaceRegistry
{
    private readonly ulong _nsfsDev;
    private readonly INamespaceRegistryActions _actions;
    private readonly Dictionary<ulong, NamespaceEntry> _byInode = new();
    private readonly Dictionary<string, ulong> _inodeByBindPath = new();
    private readonly PlaceholderProbes _placeholders = new();
    /// <summary>Inodes of the namespaces found at start-up whose open has not answered yet (null once all did).</summary>
    private HashSet<ulong>? _initialWaiting;

    /// <param name="nsfsDev">st_dev shared by every namespace file (see <see cref="NamespaceScanner.NsfsDev"/>).</param>
    public NamespaceRegistry(ulong nsfsDev, INamespaceRegistryActions actions)
    {
        _nsfsDev = nsfsDev;
        _actions = actions;
    }

    /// <summary>Every known namespace (open or not).</summary>
    public Dictionary<ulong, NamespaceEntry>.ValueCollection Entries => _byInode.Values;

    /// <summary>The namespace with this nsfs inode, if known.</summary>
    public bool TryGet(ulong inode, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out NamespaceEntry? entry) => _byInode.TryGetValue(inode, out entry);

    /// <summary>True until every namespace found at start-up has answered its open.</summary>
    public bool WaitingForInitialOpens => _initialWaiting != null;

    public bool IsNamespace(in NamespaceCandidate candidate) => candidate.Dev == _nsfsDev && candidate.Inode != 0;

    /// <summary>
    /// Start-up: the daemon's own namespace (when <paramref name="hostInode"/> is given) and the first scan.
    /// The first poll waits for all of them to answer (<see cref="INamespaceRegistryActions.InitialOpensDone"/>).
    /// </summary>
    public void Begin(ulong? hostInode, List<NamespaceCandidate> candidates, long now)
    {
        _initialWaiting = new HashSet<ulong>();
        if (hostInode is { } inode)
        {
            var host = new NamespaceEntry { Inode = inode, Name = NamespaceEntry.HostName, IsHost = true, OpenPath = "/proc/self/ns/net" };
            _byInode[inode] = host;
            RequestOpen(host);
            _initialWaiting.Add(inode);
        }
        for (int i = 0; i < candidates.Count; i++) OnCandidate(candidates[i], now, initial: true);
        if (_initialWaiting.Count == 0) InitialDone();
    }

    /// <summary>A full rescan (reconcile): new candidates are opened, vanished ones removed, failed opens retried.</summary>
    /// <param name="bindCount">The first <paramref name="bindCount"/> candidates are bind mounts; the rest come from /proc.</param>
    public void Reconcile(List<NamespaceCandidate> candidates, int bindCount, long now)
    {
        var seenInodes = new HashSet<ulong>();
        var seenBindPaths = new HashSet<string>();
        for (int i = 0; i < candidates.Count; i++)
        {
            var candidate = candidates[i];
            if (i < bindCount) seenBindPaths.Add(candidate.Path);
            if (IsNamespace(candidate)) seenInodes.Add(candidate.Inode);
            OnCandidate(candidate, now, initial: false);
        }

        // Paths gone (or now naming another namespace) and namespaces no source reports any more.
        var stale = new List<string>();
        foreach (var (path, inode) in _inodeByBindPath)
            if (!seenBindPaths.Contains(path) || !seenInodes.Contains(inode)) stale.Add(path);
        foreach (var path in stale) OnPathGone(path);
        var gone = new List<NamespaceEntry>();
        foreach (var entry in _byInode.Values)
        {
            if (entry.IsHost) continue;
            if (entry.BindPaths.Count == 0 && !(entry.FromProcScan && seenInodes.Contains(entry.Inode))) gone.Add(entry);
            else if (entry.Failed && !entry.Opening) RequestOpen(entry);
        }
        foreach (var entry in gone) RemoveEntry(entry);
        _placeholders.KeepOnly(seenBindPaths);
    }

    /// <summary>A path appeared in a watched directory (inotify), or a new directory's scan found it.</summary>
    public void OnAppeared(in NamespaceCandidate candidate, long now) => OnCandidate(candidate, now, initial: false);

    /// <summary>A bind path was deleted or moved away.</summary>
    public void OnPathGone(string path)
    {
        _placeholders.Remove(path);
        if (!_inodeByBindPath.Remove(path, out var inode)) return;
        if (!_byInode.TryGetValue(inode, out var entry)) return;
        entry.BindPaths.Remove(path);
        if (entry.BindPaths.Count > 0)
        {
            if (entry.OpenPath == path) entry.OpenPath = First(entry.BindPaths);
            return;
        }
        // Also when a /proc scan saw it: that sighting is as old as the last reconcile (60 s), and a container's
        // namespace loses its mount when the container is removed, its processes gone. Keeping it until the next
        // reconcile polled a dead container's namespace (TIME_WAIT sockets still named after it) for up to a
        // minute (issue 25). Processes that outlive the mount are found again by the next scan.
        if (!entry.IsHost) RemoveEntry(entry);
    }

    /// <summary>When the next placeholder re-probe is due (Stopwatch ticks), or long.MaxValue.</summary>
    public long NextProbeDue => _placeholders.NextDue;

    /// <summary>Adds the placeholder paths whose re-probe is due; the caller stats each and calls <see cref="OnProbed"/>.</summary>
    public void CollectDueProbes(long now, List<string> into) => _placeholders.CollectDue(now, into);

    /// <summary>What a due placeholder's re-probe found.</summary>
    public void OnProbed(in NamespaceCandidate candidate, long now)
    {
        var path = candidate.Path;
        if (!_placeholders.Contains(path)) return;
        if (IsNamespace(candidate)) { OnCandidate(candidate, now, initial: false); return; }
        if (candidate.Inode == 0) { _placeholders.Remove(path); return; } // gone
        // Still not a namespace after the last probe: let the opener try (and fail, counted); the next reconcile retries.
        if (!_placeholders.Retry(path, now)) _actions.Open(new OpenRequest(path, 0));
    }

    /// <summary>The opener answered (failures were counted and logged by the caller).</summary>
    public void OnOpenResult(OpenResult result)
    {
        if (result.Request.ExpectedInode == 0)
        {
            // A placeholder tried after its re-probes ran out: if its bind mount came after the last probe, the
            // opener found a namespace there. Adopt that socket now (not at the next reconcile, up to 60 s away).
            if (result.Succeeded) AdoptPlaceholder(result);
            return;
        }
        _byInode.TryGetValue(result.Request.ExpectedInode, out var entry);
        if (!result.Succeeded)
        {
            if (entry is { Opening: true })
            {
                entry.Opening = false;
                entry.Failed = true;
                if (OpenFailures.NamespaceGone(result.Failure)) RemoveEntry(entry);
            }
        }
        else if (entry == null || !entry.Opening || result.Inode != entry.Inode)
        {
            _actions.Discard(result); // removed (or re-requested) while the opener worked
        }
        else
        {
            entry.Opening = false;
            Attach(entry, result);
        }
        if (_initialWaiting != null && _initialWaiting.Remove(result.Request.ExpectedInode) && _initialWaiting.Count == 0)
            InitialDone();
    }

    /// <summary>
    /// Results of an attribution pass: applied to namespaces whose handle is still the one that was looked for
    /// (not removed, not reopened under a reused inode meanwhile). The contexts of later polls carry them.
    /// </summary>
    public void ApplyAttribution(List<NamespaceAttribution> attributed)
    {
        foreach (var a in attributed)
            if (_byInode.TryGetValue(a.Inode, out var entry) && entry.Handle?.Id == a.HandleId) entry.Attribution = a.Attribution;
    }

    public List<NamespaceInfo> Snapshot()
    {
        var list = new List<NamespaceInfo>(_byInode.Count);
        foreach (var entry in _byInode.Values)
            list.Add(new NamespaceInfo(entry.Name, entry.Inode, entry.Handle != null, entry.Handle?.SharesHostTable ?? false, entry.Handle?.Lane ?? -1));
        return list;
    }

    /// <summary>Shutdown: forgets everything (the lanes closed the sockets).</summary>
    public void Clear()
    {
        foreach (var entry in _byInode.Values) entry.Handle = null;
        _byInode.Clear();
        _inodeByBindPath.Clear();
        _placeholders.Clear();
    }

    // ---------------------------------------------------------------- internals

    private void OnCandidate(in NamespaceCandidate candidate, long now, bool initial)
    {
        bool isBind = candidate.BindName != null;
        if (!IsNamespace(candidate))
        {
            // Not (yet) a namespace: `ip netns add`'s placeholder before its bind mount, or a stray file.
            if (isBind && candidate.Inode != 0) _placeholders.Add(candidate.Path, now);
            return;
        }
        _placeholders.Remove(candidate.Path);
        if (isBind && _inodeByBindPath.TryGetValue(candidate.Path, out var known))
        {
            if (known == candidate.Inode) return;
            OnPathGone(candidate.Path); // the name now points at another namespace
        }
        if (_byInode.TryGetValue(candidate.Inode, out var entry))
        {
            if (!isBind) { entry.FromProcScan = true; return; }
            entry.BindPaths.Add(candidate.Path);
            _inodeByBindPath[candidate.Path] = candidate.Inode;
            if (entry.Name.StartsWith("netns:[", StringComparison.Ordinal)) entry.Name = candidate.BindName!;
            return;
        }
        entry = AddEntry(candidate);
        RequestOpen(entry);
        if (initial) _initialWaiting?.Add(entry.Inode);
    }

    private NamespaceEntry AddEntry(in NamespaceCandidate candidate)
    {
        bool isBind = candidate.BindName != null;
        var entry = new NamespaceEntry
        {
            Inode = candidate.Inode,
            Name = candidate.BindName ?? $"netns:[{candidate.Inode}]",
            OpenPath = candidate.Path,
            FromProcScan = !isBind,
        };
        if (isBind)
        {
            entry.BindPaths.Add(candidate.Path);
            _inodeByBindPath[candidate.Path] = candidate.Inode;
        }
        _byInode[entry.Inode] = entry;
        return entry;
    }

    private void AdoptPlaceholder(OpenResult result)
    {
        var path = result.Request.Path;
        var candidate = new NamespaceCandidate(path, Path.GetFileName(path), _nsfsDev, result.Inode);
        _placeholders.Remove(path);
        if (_byInode.ContainsKey(result.Inode))
        {
            // Known already (by another path, or found meanwhile): this path is one more name of it.
            OnCandidate(candidate, 0, initial: false);
            _actions.Discard(result);
            return;
        }
        if (_inodeByBindPath.ContainsKey(path)) OnPathGone(path); // the name pointed at another namespace
        Attach(AddEntry(candidate), result);
    }

    private void Attach(NamespaceEntry entry, OpenResult result)
    {
        entry.Handle = _actions.Attach(entry, result);
        entry.Attribution = RecordAttribution.None; // a new handle never inherits an owner (its inode may be reused)
    }

    private void RequestOpen(NamespaceEntry entry)
    {
        entry.Opening = true;
        entry.Failed = false;
        _actions.Open(new OpenRequest(entry.OpenPath, entry.Inode));
    }

    private void RemoveEntry(NamespaceEntry entry)
    {
        _byInode.Remove(entry.Inode);
        foreach (var path in entry.BindPaths) _inodeByBindPath.Remove(path);
        entry.BindPaths.Clear();
        if (entry.Handle is { } handle)
        {
            entry.Handle = null;
            _actions.Detach(handle);
        }
        entry.Opening = false;
    }

    private void InitialDone()
    {
        _initialWaiting = null;
        _actions.InitialOpensDone();
    }

    private static string First(HashSet<string> set)
    {
        foreach (var item in set) return item;
        return "";
    }
}
