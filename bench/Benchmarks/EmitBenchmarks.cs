using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Logging.Abstractions;
using XtcpEpoll.Loop.Changes;
using XtcpEpoll.Loop.Parsing;
using XtcpEpoll.Netlink.Capture;
using XtcpEpoll.Netlink.Parsing;
using XtcpEpoll.Sinks.Batching;
using XtcpEpoll.Sinks.Records;

namespace XtcpEpoll.Bench.Benchmarks;

/// <summary>
/// --emit all against --emit changed, per socket: parse + (fingerprint, table lookup, compare) + marshal
/// (size and protobuf encoding of every emitted record), over every datagram of 6_6_44/tcp_1000_sockets.pcap
/// (9,006 socket messages in six dumps of distinct sockets, taken as six namespaces; each pass over the capture is
/// one poll of them, so pass N compares with pass N-1, as a live poll with the last one). Goal (issue 24): the
/// changed path costs ≤ 110 % of all when every socket is emitted. Changed_EverySocketEmitted: K = 1, so
/// every socket's keyframe falls at every poll: the whole compare is paid and every record still marshalled
/// (the worst case; a changed socket costs the same). Changed_Idle: K = 60 and the capture's counters
/// repeat, the steady state of an idle host: compare, then nothing to marshal.
/// </summary>
[MemoryDiagnoser, MinColumn, MedianColumn]
public class EmitBenchmarks
{
    public const int SocketsInCapture = 9006;
    private byte[][] _datagrams = [];
    private readonly ParseErrorCounters _errors = new();
    private readonly DumpRecords _dump = new();
    private readonly MarshallingSink _sink = new();
    private DumpDecoder _all = null!, _everyEmitted = null!, _idle = null!;
    private FingerprintTable[] _everyEmittedTables = [], _idleTables = [];
    private uint _poll;
    private readonly RecordContext _context = new() { Hostname = "bench", Netns = "bench", NetnsInode = 1, TimestampNs = 1 };

    [GlobalSetup]
    public void Setup()
    {
        _datagrams = CaptureFile.ReadDatagrams(BenchFixtures.Capture("6_6_44/tcp_1000_sockets.pcap")).ToArray();
        _all = new DumpDecoder(_sink, _errors, 0, NullLogger.Instance);
        _everyEmitted = new DumpDecoder(_sink, _errors, 0, NullLogger.Instance) { Keyframes = new KeyframeSchedule(1) };
        _idle = new DumpDecoder(_sink, _errors, 0, NullLogger.Instance) { Keyframes = new KeyframeSchedule(60) };
        int dumps = 1;
        foreach (var datagram in _datagrams)
            if (SockDiagReader.Summarize(datagram).SocketMessages == 0) dumps++; // a DONE-only datagram ends a dump
        _everyEmittedTables = [.. Enumerable.Range(0, dumps + 1).Select(_ => new FingerprintTable(_everyEmitted.Keyframes!))];
        _idleTables = [.. Enumerable.Range(0, dumps + 1).Select(_ => new FingerprintTable(_idle.Keyframes!))];
        if (All() != SocketsInCapture) throw new InvalidOperationException("all: not every socket emitted");
        Changed_EverySocketEmitted();
        if (Changed_EverySocketEmitted() != SocketsInCapture) throw new InvalidOperationException("K = 1: not every socket emitted");
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = SocketsInCapture)]
    public int All() => Run(_all, null);

    [Benchmark(OperationsPerInvoke = SocketsInCapture)]
    public int Changed_EverySocketEmitted() => Run(_everyEmitted, _everyEmittedTables);

    [Benchmark(OperationsPerInvoke = SocketsInCapture)]
    public int Changed_Idle() => Run(_idle, _idleTables);

    /// <summary>One poll: every dump of the capture, dump i as namespace i (its own table).</summary>
    private int Run(DumpDecoder decoder, FingerprintTable[]? tables)
    {
        int records = 0, dump = 0;
        _poll++;
        StartDump(tables, dump);
        foreach (var datagram in _datagrams)
        {
            var decoded = decoder.Decode(datagram, _dump, _context);
            records += decoded.Appended;
            if (decoded.Ending == DatagramEnding.None) continue;
            _dump.Changes?.EndPoll();
            StartDump(tables, ++dump);
        }
        _dump.Changes?.EndPoll();
        return records;
    }

    private void StartDump(FingerprintTable[]? tables, int dump)
    {
        _dump.Reset();
        if (tables == null || dump >= tables.Length) return;
        _dump.Changes = tables[dump];
        _dump.Changes.BeginPoll(_poll);
    }

    /// <summary>What the batcher and marshaller do per record: size it, encode it (into a reused buffer).</summary>
    private sealed class MarshallingSink : IRecordSink
    {
        private readonly byte[] _buffer = new byte[64 * 1024];

        public void Append(ReadOnlySpan<FlatRecord> records)
        {
            foreach (ref readonly var r in records)
            {
                int size = FlatRecordEncoder.ComputeSize(in r);
                if (FlatRecordEncoder.Write(in r, _buffer) != size) throw new InvalidOperationException("size mismatch");
            }
        }

        public void EndOfPoll(FlushReason reason) { }
        public Task ShutdownAsync(TimeSpan timeout) => Task.CompletedTask;
    }
}
