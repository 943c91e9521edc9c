using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Logging.Abstractions;
using XtcpEpoll.Loop.Parsing;
using XtcpEpoll.Netlink.Capture;
using XtcpEpoll.Netlink.Parsing;
using XtcpEpoll.Sinks.Batching;
using XtcpEpoll.Sinks.Records;

namespace XtcpEpoll.Bench.Benchmarks;

/// <summary>
/// Parse throughput over every datagram of 6_6_44/tcp_1000_sockets.pcap held in memory. Results are
/// per socket (OperationsPerInvoke = the 9,006 socket messages of the capture). Goal: ≤ 300 ns, 0 B.
/// DecodeAll is the whole per-datagram step of the parse workers (and replay): ParseAll plus the cookie
/// dedupe per dump and the record fields, into a sink that drops the records.
/// </summary>
[MemoryDiagnoser, MinColumn, MedianColumn]
public class ParseBenchmarks
{
    private const int SocketsInCapture = 9006;
    private byte[][] _datagrams = [];
    private readonly ParseErrorCounters _errors = new();
    private readonly DumpRecords _dump = new();
    private DumpDecoder _decoder = null!;
    private readonly RecordContext _context = new() { Hostname = "bench", Netns = "bench", NetnsInode = 1, TimestampNs = 1 };

    [GlobalSetup]
    public void LoadCapture()
    {
        _datagrams = CaptureFile.ReadDatagrams(FixturePath("6_6_44/tcp_1000_sockets.pcap")).ToArray();
        _decoder = new DumpDecoder(new DroppingSink(), _errors, 0, NullLogger.Instance);
        int sockets = ParseAll();
        if (sockets != SocketsInCapture)
            throw new InvalidOperationException($"expected {SocketsInCapture} sockets, parsed {sockets}");
        if (DecodeAll() != SocketsInCapture)
            throw new InvalidOperationException($"expected {SocketsInCapture} records, decoded {DecodeAll()}");
    }

    /// <summary>Full decode: inet_diag_msg, every attribute, tcp_info, into one reused ParsedSocket.</summary>
    [Benchmark(OperationsPerInvoke = SocketsInCapture)]
    public int ParseAll()
    {
        int sockets = 0;
        var socket = default(ParsedSocket);
        foreach (var datagram in _datagrams)
        {
            var reader = new SockDiagReader(datagram, _errors);
            SockDiagItem item;
            while ((item = reader.Next(ref socket)) != SockDiagItem.End)
            {
                if (item == SockDiagItem.Socket)
                    sockets++;
            }
        }
        return sockets;
    }

    /// <summary>The live datagram step (DumpDecoder): parse, dedupe by cookie per dump, fill records, hand to the sink.</summary>
    [Benchmark(OperationsPerInvoke = SocketsInCapture)]
    public int DecodeAll()
    {
        int records = 0;
        _dump.Reset();
        foreach (var datagram in _datagrams)
        {
            var decoded = _decoder.Decode(datagram, _dump, _context);
            records += decoded.Appended;
            if (decoded.Ending != DatagramEnding.None) _dump.Reset();
        }
        return records;
    }

    /// <summary>Header-only scan the loop thread uses to spot end-of-dump.</summary>
    [Benchmark(OperationsPerInvoke = SocketsInCapture)]
    public int SummarizeAll()
    {
        int sockets = 0;
        foreach (var datagram in _datagrams)
            sockets += SockDiagReader.Summarize(datagram).SocketMessages;
        return sockets;
    }

    private static string FixturePath(string relative)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "XtcpEpoll.sln")))
                return Path.Combine(dir.FullName, "..", "shared", "fixtures", "netlink", relative);
        }
        throw new InvalidOperationException("XtcpEpoll.sln not found above " + AppContext.BaseDirectory);
    }

    private sealed class DroppingSink : IRecordSink
    {
        public void Append(ReadOnlySpan<FlatRecord> records) { }
        public void EndOfPoll(FlushReason reason) { }
        public Task ShutdownAsync(TimeSpan timeout) => Task.CompletedTask;
    }
}
