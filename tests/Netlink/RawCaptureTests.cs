using Xunit;
using XtcpEpoll.Netlink.Capture;
using XtcpEpoll.Netlink.Parsing;

namespace XtcpEpoll.Tests.Netlink;

/// <summary>The raw datagrams of netlink_packets_capture/ (one recv each) and other capture formats.</summary>
public class RawCaptureTests
{
    [Fact]
    public void EveryRawDatagramParsesWithoutDamage()
    {
        var directory = TestPaths.Fixture("netlink_packets_capture");
        var files = Directory.GetFiles(directory);
        Assert.Equal(40, files.Length);
        var errors = new ParseErrorCounters();
        int sockets = 0, dones = 0;
        foreach (var file in files)
        {
            var datagram = Assert.Single(CaptureFile.ReadDatagrams(file));
            var reader = new SockDiagReader(datagram, errors);
            var socket = default(ParsedSocket);
            SockDiagItem item;
            int inThisFile = 0;
            while ((item = reader.Next(ref socket)) != SockDiagItem.End)
            {
                if (item == SockDiagItem.Socket) { inThisFile++; Assert.True(socket.Family is 2 or 10); }
                if (item == SockDiagItem.Done) dones++;
                Assert.NotEqual(SockDiagItem.Error, item);
            }
            Assert.Equal(SockDiagReader.Summarize(datagram).SocketMessages, inThisFile);
            sockets += inThisFile;
        }
        Assert.Equal(0, errors.Total);
        Assert.True(sockets > 100, $"only {sockets} sockets");
        Assert.True(dones > 0);
        // A directory replays as all its files in name order.
        Assert.Equal(files.Length, CaptureFile.ReadDatagrams(directory).Count());
    }

    [Fact]
    public void DoneOnlyDatagramSummarizesAsEndOfDump()
    {
        var dump = CaptureFile.ReadDatagrams(TestPaths.Fixture("6_6_44/netlink_sock_diag_response_dump_done.pcap")).Single();
        var summary = SockDiagReader.Summarize(dump);
        Assert.True(summary.Done);
        Assert.True(summary.EndsDump);
        Assert.Equal(0, summary.ErrorNumber);
        Assert.Equal(0, summary.SocketMessages);
        // netlink_end_of_dump_bytes is a DONE header whose length (20) runs past its 16 bytes: a cut
        // message is never trusted, so it is counted, not taken as the end of the dump.
        foreach (var kernel in new[] { "6_6_44", "6_10_3" })
        {
            var bytes = File.ReadAllBytes(TestPaths.Fixture(kernel + "/netlink_end_of_dump_bytes"));
            Assert.False(SockDiagReader.Summarize(bytes).Done);
            var errors = new ParseErrorCounters();
            var reader = new SockDiagReader(bytes, errors);
            var socket = default(ParsedSocket);
            Assert.Equal(SockDiagItem.End, reader.Next(ref socket));
            Assert.Equal(1, errors.Get(ParseErrorKind.LengthOverflow));
            var whole = new byte[20];
            bytes.CopyTo(whole, 0);
            Assert.True(SockDiagReader.Summarize(whole).Done);
            Assert.Equal(123456u, SockDiagReader.Summarize(whole).Sequence);
        }
    }

    /// <summary>Raw single-message files: one ESTABLISHED IPv4 socket each, to the port the name gives.</summary>
    [Theory]
    [InlineData("6_6_44/netlink_sock_diag_response_port4002", 4002)]
    [InlineData("6_6_44/netlink_sock_diag_response_port4007", 4007)]
    [InlineData("6_6_44/netlink_sock_diag_response_port4819", 4819)]
    [InlineData("6_6_44/large_netlink_sock_diag_protocol_export", 4840)]
    public void RawSingleMessageFileHoldsTheNamedSocket(string file, int destinationPort)
    {
        var datagram = Assert.Single(CaptureFile.ReadDatagrams(TestPaths.Fixture(file)));
        Assert.Equal(448, datagram.Length);
        var errors = new ParseErrorCounters();
        var socket = Assert.Single(FixtureSet.ParseAll([datagram], errors));
        Assert.Equal(0, errors.Total);
        Assert.Equal((2, 1, destinationPort), ((int)socket.Family, (int)socket.State, (int)socket.DestinationPort));
        Assert.True(socket.Present.HasFlag(AttributeSet.Info));
    }

    [Fact]
    public void UnknownFormatsGiveOneLineErrors()
    {
        var dir = Directory.CreateTempSubdirectory("xt-netlink-capture-");
        try
        {
            var garbage = Path.Combine(dir.FullName, "garbage.bin");
            File.WriteAllBytes(garbage, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
            var error = Assert.Throws<InvalidDataException>(() => CaptureFile.ReadDatagrams(garbage).ToList());
            Assert.Contains("garbage.bin", error.Message);
            Assert.DoesNotContain('\n', error.Message);

            var pcapng = Path.Combine(dir.FullName, "x.pcapng");
            File.WriteAllBytes(pcapng, [0x0A, 0x0D, 0x0D, 0x0A, 0, 0, 0, 0, 0x4D, 0x3C, 0x2B, 0x1A]);
            Assert.Contains("pcapng", Assert.Throws<InvalidDataException>(() => CaptureFile.ReadDatagrams(pcapng).ToList()).Message);

            // A pcap of another link type (1 = Ethernet) is refused with the linktype named.
            var ethernet = File.ReadAllBytes(TestPaths.Fixture("6_6_44/ss_tcp_info_a_4.pcap"));
            ethernet[20] = 1;
            var ethernetPath = Path.Combine(dir.FullName, "eth.pcap");
            File.WriteAllBytes(ethernetPath, ethernet);
            Assert.Contains("linktype 1", Assert.Throws<InvalidDataException>(() => CaptureFile.ReadDatagrams(ethernetPath).ToList()).Message);

            Assert.Throws<FileNotFoundException>(() => CaptureFile.ReadDatagrams(Path.Combine(dir.FullName, "missing")));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void BigEndianAndNanosecondPcapHeadersAreRead()
    {
        var original = File.ReadAllBytes(TestPaths.Fixture("6_6_44/ss_tcp_info_a_4.pcap"));
        var expected = PcapReader.ReadDatagrams(new MemoryStream(original), "le").ToList();

        var swapped = (byte[])original.Clone();
        // File header: magic, version (2+2), thiszone, sigfigs, snaplen, network → swap each field.
        SwapField(swapped, 0, 4); SwapField(swapped, 4, 2); SwapField(swapped, 6, 2);
        for (int o = 8; o < 24; o += 4) SwapField(swapped, o, 4);
        int offset = 24;
        while (offset < swapped.Length)
        {
            int captured = BitConverter.ToInt32(original, offset + 8);
            for (int o = 0; o < 16; o += 4) SwapField(swapped, offset + o, 4);
            offset += 16 + captured;
        }
        var fromBigEndian = PcapReader.ReadDatagrams(new MemoryStream(swapped), "be").ToList();
        Assert.Equal(expected.Count, fromBigEndian.Count);
        Assert.All(expected.Zip(fromBigEndian), pair => Assert.Equal(pair.First, pair.Second));

        var nanoseconds = (byte[])original.Clone();
        BitConverter.GetBytes(PcapReader.MagicNanoseconds).CopyTo(nanoseconds, 0);
        Assert.Equal(expected.Count, PcapReader.ReadDatagrams(new MemoryStream(nanoseconds), "ns").Count());
    }

    private static void SwapField(byte[] bytes, int offset, int length) => Array.Reverse(bytes, offset, length);
}
