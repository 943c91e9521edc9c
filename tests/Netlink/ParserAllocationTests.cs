using Xunit;
using XtcpEpoll.Netlink.Parsing;

namespace XtcpEpoll.Tests.Netlink;

public class ParserAllocationTests
{
    [Fact]
    public void ParsingALargeCaptureAllocatesNothing()
    {
        var datagrams = FixtureSet.Datagrams("6_6_44/tcp_1000_sockets.pcap").ToArray();
        var errors = new ParseErrorCounters();
        int warm = ParsePass(datagrams, errors);
        Assert.Equal(9006, warm);

        long before = GC.GetAllocatedBytesForCurrentThread();
        int sockets = ParsePass(datagrams, errors) + ParsePass(datagrams, errors);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(2 * 9006, sockets);
        Assert.Equal(0, allocated);
    }

    private static int ParsePass(byte[][] datagrams, ParseErrorCounters errors)
    {
        int sockets = 0;
        var socket = default(ParsedSocket);
        foreach (var datagram in datagrams)
        {
            var reader = new SockDiagReader(datagram, errors);
            SockDiagItem item;
            while ((item = reader.Next(ref socket)) != SockDiagItem.End)
            {
                if (item == SockDiagItem.Socket)
                    sockets++;
            }
            sockets += 0 * SockDiagReader.Summarize(datagram).SocketMessages;
        }
        return sockets;
    }
}
