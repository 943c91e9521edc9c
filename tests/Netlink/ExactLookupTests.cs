using System.Buffers.Binary;
using Xunit;
using XtcpEpoll.Netlink.Native;
using XtcpEpoll.Netlink.Parsing;
using XtcpEpoll.Netlink.Requests;

namespace XtcpEpoll.Tests.Netlink;

/// <summary>The pieces of exact lookups that live in the protocol layer: key scan and exact request.</summary>
public unsafe class ExactLookupTests
{
    [Fact]
    public void Key_scan_finds_exactly_the_sockets_the_parser_reports_in_every_fixture()
    {
        int files = 0, sockets = 0;
        foreach (var (file, _) in FixtureSet.ReadmeTable())
        {
            var datagrams = FixtureSet.Datagrams(file);
            var parsed = FixtureSet.ParseAll(datagrams);
            var keys = new List<SocketKey>();
            foreach (var d in datagrams)
            {
                int offset = 0;
                while (SockDiagReader.NextKey(d, ref offset, out var key)) keys.Add(key);
            }
            Assert.Equal(parsed.Count, keys.Count);
            for (int i = 0; i < keys.Count; i++)
            {
                var p = parsed[i];
                var k = keys[i];
                Assert.Equal((p.Family, p.State, p.SourcePort, p.DestinationPort, p.Interface, p.Cookie),
                    (k.Family, k.State, BinaryPrimitives.ReverseEndianness(k.SourcePortBigEndian), BinaryPrimitives.ReverseEndianness(k.DestinationPortBigEndian), k.Interface, k.Cookie));
                Assert.True(new ReadOnlySpan<byte>(p.Source, 16).SequenceEqual(k.Source));
                Assert.True(new ReadOnlySpan<byte>(p.Destination, 16).SequenceEqual(k.Destination));
            }
            files++;
            sockets += keys.Count;
        }
        Assert.True(files >= 5 && sockets > 0, $"{files} fixtures, {sockets} sockets");
    }

    [Fact]
    public void Key_scan_never_throws_on_mutated_datagrams()
    {
        var seeds = FixtureSet.ReadmeTable().SelectMany(r => FixtureSet.Datagrams(r.File)).Where(d => d.Length > 0).ToArray();
        var random = new Random(7);
        for (int i = 0; i < 20_000; i++)
        {
            var seed = seeds[random.Next(seeds.Length)];
            var datagram = seed.AsSpan(0, random.Next(seed.Length + 1)).ToArray();
            for (int n = random.Next(0, 6); n > 0 && datagram.Length > 0; n--) datagram[random.Next(datagram.Length)] = (byte)random.Next(256);
            int offset = 0, count = 0;
            while (SockDiagReader.NextKey(datagram, ref offset, out _)) Assert.True(++count <= datagram.Length / 16);
        }
    }

    [Fact]
    public void Exact_request_names_one_socket_without_the_dump_flag()
    {
        var key = new SocketKey { Family = NetlinkConstants.AF_INET6, SourcePortBigEndian = BinaryPrimitives.ReverseEndianness((ushort)8443), Interface = 3, Cookie = 0x1122334455667788 };
        for (int i = 0; i < 16; i++) key.Source[i] = (byte)(i + 1);
        var connection = key;
        connection.DestinationPortBigEndian = BinaryPrimitives.ReverseEndianness((ushort)50123);
        for (int i = 0; i < 16; i++) connection.Destination[i] = (byte)(0xA0 + i);
        var request = new byte[DumpRequestBuilder.V2Size];
        Assert.Equal(72, DumpRequestBuilder.WriteExactV2(request, in key, 0xFE, 42));

        Assert.Equal(72u, BinaryPrimitives.ReadUInt32LittleEndian(request));
        Assert.Equal(NetlinkConstants.SOCK_DIAG_BY_FAMILY, BinaryPrimitives.ReadUInt16LittleEndian(request.AsSpan(4)));
        Assert.Equal(NetlinkConstants.NLM_F_REQUEST, BinaryPrimitives.ReadUInt16LittleEndian(request.AsSpan(6)));
        Assert.Equal(42u, BinaryPrimitives.ReadUInt32LittleEndian(request.AsSpan(8)));
        var body = request.AsSpan(16);
        Assert.Equal((10, 6, 0xFE), (body[0], body[1], body[2]));
        var id = body.Slice(WireOffsets.V2Id);
        Assert.Equal(8443, BinaryPrimitives.ReadUInt16BigEndian(id));
        Assert.Equal(0, BinaryPrimitives.ReadUInt16BigEndian(id.Slice(2)));               // no peer port
        Assert.True(id.Slice(WireOffsets.IdSource, 16).SequenceEqual(key.Source));
        Assert.True(id.Slice(WireOffsets.IdDestination, 16).IndexOfAnyExcept((byte)0) < 0); // no peer address
        Assert.Equal(3u, BinaryPrimitives.ReadUInt32LittleEndian(id.Slice(WireOffsets.IdInterface)));
        Assert.Equal(0x55667788u, BinaryPrimitives.ReadUInt32LittleEndian(id.Slice(WireOffsets.IdCookie)));      // cookie[0]: low half
        Assert.Equal(0x11223344u, BinaryPrimitives.ReadUInt32LittleEndian(id.Slice(WireOffsets.IdCookie + 4)));  // cookie[1]
        Assert.Throws<ArgumentOutOfRangeException>(() => DumpRequestBuilder.WriteExactV2(request, new SocketKey { Family = 1 }, 0, 0));

        // A connection's lookup names its peer too (the established table is hashed by the 4-tuple).
        DumpRequestBuilder.WriteExactV2(request, in connection, 0xFE, 43);
        id = request.AsSpan(16).Slice(WireOffsets.V2Id);
        Assert.Equal(50123, BinaryPrimitives.ReadUInt16BigEndian(id.Slice(WireOffsets.IdDestinationPort)));
        Assert.True(id.Slice(WireOffsets.IdDestination, 16).SequenceEqual(connection.Destination));
    }
}
