using XtcpEpoll.Netlink.Native;

namespace XtcpEpoll.Loop.Namespaces;

/// <summary>
/// Paths that exist but are not (yet) an nsfs file, and when to stat them again: `ip netns add` creates an
/// empty file, then bind-mounts, so such a path is re-probed soon, a few times. Owned by the registry
/// (control thread); times are Stopwatch ticks.
/// </summary>
internal sealed class PlaceholderProbes
{
    /// <summary>Delays of the re-probes after the path is first seen (the first), then after each probe.</summary>
    public static readonly TimeSpan[] Retries =
        [TimeSpan.FromMilliseconds(20), TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(500), TimeSpan.FromMilliseconds(1500)];

    private readonly Dictionary<string, (int Attempt, long Due)> _due = new();

    /// <summary>When the next re-probe is due, or long.MaxValue.</summary>
    public long NextDue
    {
        get
        {
            long earliest = long.MaxValue;
            foreach (var state in _due.Values) earliest = Math.Min(earliest, state.Due);
            return earliest;
        }
    }

    public bool Contains(string path) => _due.ContainsKey(path);

    /// <summary>A placeholder seen for the first time: its first re-probe is due soon (a known one keeps its schedule).</summary>
    public void Add(string path, long now) => _due.TryAdd(path, (0, now + MonotonicClock.Ticks(Retries[0])));

    public void Remove(string path) => _due.Remove(path);

    /// <summary>Adds the paths whose re-probe is due.</summary>
    public void CollectDue(long now, List<string> into)
    {
        foreach (var (path, state) in _due)
            if (state.Due <= now) into.Add(path);
    }

    /// <summary>The probe found still no namespace: schedules the next one; false when the retries ran out (the path is forgotten).</summary>
    public bool Retry(string path, long now)
    {
        if (!_due.TryGetValue(path, out var state)) return false;
        int attempt = state.Attempt + 1;
        if (attempt < Retries.Length)
        {
            _due[path] = (attempt, now + MonotonicClock.Ticks(Retries[attempt]));
            return true;
        }
        _due.Remove(path);
        return false;
    }

    /// <summary>A full scan: forgets the paths it did not see.</summary>
    public void KeepOnly(HashSet<string> seen)
    {
        foreach (var path in new List<string>(_due.Keys))
            if (!seen.Contains(path)) _due.Remove(path);
    }

    public void Clear() => _due.Clear();
}
