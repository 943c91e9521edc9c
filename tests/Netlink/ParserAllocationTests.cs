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

        // A per-socket allocation shows in every round (18,012 sockets a round); the runtime's own one-off work on
        // this thread (a method reaching its next JIT tier mid-round: CI once saw 6,320 B in a round) does not
        // repeat. So a round of 0 B proves the parser allocates nothing; up to 5 rounds are measured.
        var rounds = new List<long>();
        for (int round = 0; round < 5 && (rounds.Count == 0 || rounds[^1] != 0); round++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            int sockets = ParsePass(datagrams, errors) + ParsePass(datagrams, errors);
            rounds.Add(GC.GetAllocatedBytesForCurrentThread() - before);
            Assert.Equal(2 * 9006, sockets);
        }
        Assert.True(rounds[^1] == 0, $"bytes allocated per round of 18,012 sockets: {string.Join(", ", rounds)}");
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
