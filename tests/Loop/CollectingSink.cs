using XtcpEpoll.Netlink.Parsing;
using XtcpEpoll.Sinks.Batching;
using XtcpEpoll.Sinks.Records;

namespace XtcpEpoll.Tests.Loop;

/// <summary>What the tests keep of each record.</summary>
public readonly record struct SeenRecord(
    string Netns, ulong NetnsInode, long TimestampNs, string Hostname, byte Family, byte State,
    ushort SourcePort, ushort DestinationPort, ulong Cookie, AttributeSet Present, string Congestion,
    ushort MessageType, bool DumpIncomplete, ulong CgroupId = 0, string ContainerId = "", string ContainerRuntime = "",
    string PodUid = "", bool AttributedBySocketCgroup = false, uint Origin = RecordOrigins.PollSnapshot, ulong BytesAcked = 0, ulong BytesReceived = 0,
    string PodNamespace = "", string PodName = "", string ContainerName = "", uint Reason = RecordReasons.Snapshot)
{
    /// <summary>Kubernetes names (pod namespace, pod name, container name) the record carries.</summary>
    public (string Namespace, string Pod, string Container) Names => (PodNamespace, PodName, ContainerName);

    public ExpectedSocket Key => new(Family, State, SourcePort, DestinationPort);
}

/// <summary>
/// Test double for the sink (the kernel side under test is real): keeps poll-snapshot records per poll, and
/// destroy-event records (which come at any time) in one list of their own.
/// </summary>
public class CollectingSink : IRecordSink
{
    private readonly object _lock = new();
    private List<SeenRecord> _current = new();
    private readonly List<List<SeenRecord>> _polls = new();
    private readonly List<FlushReason> _reasons = new();
    private readonly List<SeenRecord> _destroyed = new();

    /// <summary>Keep only rows whose netns name passes (null = all); keeps memory small in big tests.</summary>
    public Func<string, bool>? Filter { get; init; }

    /// <summary>When false only counts are kept per poll (records dropped).</summary>
    public bool KeepRecords { get; init; } = true;

    public int Polls { get { lock (_lock) return _polls.Count; } }

    public IReadOnlyList<SeenRecord> Poll(int index) { lock (_lock) return _polls[index]; }

    public FlushReason Reason(int index) { lock (_lock) return _reasons[index]; }

    /// <summary>Every destroy-event record appended so far (record_origin 1), in order.</summary>
    public List<SeenRecord> Destroyed() { lock (_lock) return [.. _destroyed]; }

    /// <summary>Blocks until <paramref name="done"/> holds for the destroy records (fails the test after the timeout).</summary>
    public List<SeenRecord> WaitForDestroyed(Func<List<SeenRecord>, bool> done, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        lock (_lock)
        {
            while (!done(_destroyed))
            {
                var left = deadline - DateTime.UtcNow;
                if (left <= TimeSpan.Zero) throw new TimeoutException($"destroy records not as expected within {timeout}: {_destroyed.Count} so far");
                Monitor.Wait(_lock, left);
            }
            return [.. _destroyed];
        }
    }

    public virtual unsafe void Append(ReadOnlySpan<FlatRecord> records)
    {
        lock (_lock)
        {
            foreach (ref readonly var r in records)
            {
                if (Filter != null && !Filter(r.Context.Netns)) continue;
                var s = r.Socket;
                string cong = System.Text.Encoding.ASCII.GetString(new ReadOnlySpan<byte>(s.CongestionName, s.CongestionNameLength));
                var owner = r.AttributionOrContext;
                var seen = new SeenRecord(r.Context.Netns, r.Context.NetnsInode, r.TimestampNs, r.Context.Hostname,
                    s.Family, s.State, s.SourcePort, s.DestinationPort, s.Cookie, s.Present, cong, s.MessageType, r.DumpIncomplete,
                    s.CGroup, owner.ContainerId, owner.ContainerRuntime, owner.PodUid, r.Attribution != null,
                    r.RecordOrigin, s.Tcp.BytesAcked, s.Tcp.BytesReceived, owner.PodNamespace, owner.PodName, owner.ContainerName, r.RecordReason);
                if (r.RecordOrigin == RecordOrigins.DestroyEvent) _destroyed.Add(seen);
                else _current.Add(seen);
            }
            Monitor.PulseAll(_lock);
        }
    }

    public void EndOfPoll(FlushReason reason)
    {
        lock (_lock)
        {
            _polls.Add(_current);
            _reasons.Add(reason);
            _current = new List<SeenRecord>();
            Monitor.PulseAll(_lock);
        }
    }

    public Task ShutdownAsync(TimeSpan timeout) => Task.CompletedTask;

    /// <summary>Blocks until <paramref name="count"/> polls have ended (fails the test after the timeout).</summary>
    public void WaitForPolls(int count, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        lock (_lock)
        {
            while (_polls.Count < count)
            {
                var left = deadline - DateTime.UtcNow;
                if (left <= TimeSpan.Zero) throw new TimeoutException($"only {_polls.Count} of {count} polls ended within {timeout}");
                Monitor.Wait(_lock, left);
            }
        }
    }
}
