using BenchmarkDotNet.Attributes;
using XtcpEpoll.Loop.Attribution;
using XtcpEpoll.Netlink.Parsing;
using XtcpEpoll.Sinks.Records;

namespace XtcpEpoll.Bench.Benchmarks;

/// <summary>
/// The parse worker's per-socket attribution step (SocketAttributor.ForSocket: the socket's cgroup id looked
/// up in the cgroup cache's snapshot) per record, over the 10,000 real-capture records, against a snapshot
/// built by a real CgroupWalker walk of 1,000 container scopes (directories named as Docker names them, in a
/// private temporary tree: on tmpfs as on cgroupfs, a directory's inode is the id). Sockets are grouped 10 per
/// cgroup, as a namespace's sockets share their container's. Peer: the same loop with attribution off.
/// Goal: a few ns and 0 B per record.
/// </summary>
[MemoryDiagnoser]
public class AttributionBenchmarks
{
    private const int Records = 10_000;
    private const int Containers = 1_000;
    private FlatRecord[] _records = null!;
    private string _tree = "";
    private SocketAttributor _on = null!, _off = null!;

    [GlobalSetup]
    public void Setup()
    {
        _tree = Directory.CreateTempSubdirectory("xt-bench-cgroups-").FullName;
        var ids = new ulong[Containers];
        for (var i = 0; i < Containers; i++)
        {
            var id = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(BitConverter.GetBytes(i)));
            var dir = Directory.CreateDirectory(Path.Combine(_tree, "system.slice", $"docker-{id}.scope")).FullName;
            ids[i] = XtcpEpoll.Netlink.Native.Files.Stat(dir).Inode;
        }
        var cache = new CgroupAttributionCache();
        var walked = cache.Refresh(new CgroupWalker(_tree), new AttributionInterner(), 0);
        if (walked.Owned != Containers) throw new InvalidOperationException($"walk found {walked.Owned} of {Containers} scopes");
        _records = MarshalRecords.Load(Records);
        for (var i = 0; i < _records.Length; i++)
        {
            _records[i].Socket.CGroup = ids[i / 10 % Containers];
            _records[i].Socket.Present |= AttributeSet.CgroupId;
        }
        _on = new SocketAttributor(cache);
        _off = new SocketAttributor(null);
    }

    [GlobalCleanup]
    public void Cleanup() => Directory.Delete(_tree, recursive: true);

    [Benchmark(OperationsPerInvoke = Records)]
    public int ForSocket()
    {
        int owned = 0;
        for (var i = 0; i < _records.Length; i++)
        {
            ref var record = ref _records[i];
            record.Attribution = _on.ForSocket(ref record.Socket, record.Context);
            if (record.Attribution != null) owned++;
        }
        _on.PublishCounts();
        return owned;
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Records)]
    public int ForSocket_AttributionOff()
    {
        int owned = 0;
        for (var i = 0; i < _records.Length; i++)
        {
            ref var record = ref _records[i];
            record.Attribution = _off.ForSocket(ref record.Socket, record.Context);
            if (record.Attribution != null) owned++;
        }
        return owned;
    }
}
