using BenchmarkDotNet.Attributes;
using XtcpEpoll.Netlink.Capture;
using XtcpEpoll.Netlink.Parsing;

namespace XtcpEpoll.Bench.Benchmarks;

/// <summary>
/// Parse throughput over every datagram of 6_6_44/tcp_1000_sockets.pcap held in memory. Results are
/// per socket (OperationsPerInvoke = the 9,006 socket messages of the capture). Goal: ≤ 300 ns, 0 B.
/// </summary>
[MemoryDiagnoser, MinColumn, MedianColumn]
public class ParseBenchmarks
{
    private const int SocketsInCapture = 9006;
    private byte[][] _datagrams = [];
    private readonly ParseErrorCounters _errors = new();

    [GlobalSetup]
    public void LoadCapture()
    {
        _datagrams = CaptureFile.ReadDatagrams(BenchFixtures.Capture("6_6_44/tcp_1000_sockets.pcap")).ToArray();
        int sockets = ParseAll();
        if (sockets != SocketsInCapture)
            throw new InvalidOperationException($"expected {SocketsInCapture} sockets, parsed {sockets}");
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

    /// <summary>Header-only scan the loop thread uses to spot end-of-dump.</summary>
    [Benchmark(OperationsPerInvoke = SocketsInCapture)]
    public int SummarizeAll()
    {
        int sockets = 0;
        foreach (var datagram in _datagrams)
            sockets += SockDiagReader.Summarize(datagram).SocketMessages;
        return sockets;
    }
}
