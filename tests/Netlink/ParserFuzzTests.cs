using System.Buffers.Binary;
using Xunit;
using XtcpEpoll.Netlink.Parsing;

namespace XtcpEpoll.Tests.Netlink;

/// <summary>
/// Property: whatever bytes arrive, the reader neither throws nor reads outside the datagram (the Debug
/// build's bounds asserts in Wire fire on any out-of-bounds read), and damage shows up in the counters.
/// </summary>
public class ParserFuzzTests
{
    private const int Iterations = 120_000;

    private static readonly string[] Seeds =
    [
        "6_6_44/ss_tcp_info_a_4.pcap", "6_6_44/tcp_10_sockets.pcap", "6_6_44/tcp_100_sockets_bbr.pcap",
        "6_6_44/tcp_100_sockets_dctcp.pcap", "4_19_319/4_19_319_tcp_10_sockets.pcap", "5_4_281/5_4_281_tcp_10_sockets.pcap",
        "6_10_3/6_10_3_tcp_10_sockets.pcap", "6_6_44/netlink_sock_diag_reply_single_packet_port443v6.pcap", "netlink_packets_capture",
    ];

    [Fact]
    public void MutatedDatagramsNeverThrowAndDamageIsCounted()
    {
        var seeds = Seeds.SelectMany(FixtureSet.Datagrams).Where(d => d.Length > 0 && d.Length <= 16384).ToArray();
        Assert.True(seeds.Length > 20);
        var random = new Random(20260807);
        var errors = new ParseErrorCounters();
        var buffer = new byte[40000];
        long sockets = 0, summaries = 0;
        var kindsSeen = new HashSet<ParseErrorKind>();

        for (int i = 0; i < Iterations; i++)
        {
            int length = Mutate(random, seeds, buffer);
            // Exact-length array: any read past the datagram would hit the array end, not stale bytes.
            var datagram = buffer.AsSpan(0, length).ToArray();
            long before = errors.Total;
            var reader = new SockDiagReader(datagram, errors);
            var socket = default(ParsedSocket);
            SockDiagItem item;
            int guard = 0;
            while ((item = reader.Next(ref socket)) != SockDiagItem.End && guard++ < 10_000)
            {
                if (item == SockDiagItem.Socket)
                    sockets++;
            }
            Assert.True(guard < 10_000, "reader did not terminate");
            summaries += SockDiagReader.Summarize(datagram).SocketMessages;
            if (errors.Total != before)
            {
                foreach (var kind in ParseErrorCounters.Kinds)
                    if (errors.Get(kind) > 0) kindsSeen.Add(kind);
            }
        }
        Assert.True(errors.Total > Iterations / 4, $"counters barely moved: {errors}");
        Assert.True(sockets > 0 && summaries > 0);
        foreach (var kind in new[] { ParseErrorKind.TruncatedHeader, ParseErrorKind.LengthTooSmall, ParseErrorKind.LengthOverflow,
                     ParseErrorKind.TruncatedAttribute, ParseErrorKind.AttributeLengthTooSmall, ParseErrorKind.TruncatedInetDiagMsg })
            Assert.Contains(kind, kindsSeen);
    }

    /// <summary>Writes one mutated datagram into buffer and returns its length.</summary>
    private static int Mutate(Random random, byte[][] seeds, byte[] buffer)
    {
        var seed = seeds[random.Next(seeds.Length)];
        seed.CopyTo(buffer, 0);
        int length = seed.Length;
        switch (random.Next(8))
        {
            case 0: // bit flips
                for (int n = random.Next(1, 9); n > 0; n--)
                    buffer[random.Next(length)] ^= (byte)(1 << random.Next(8));
                break;
            case 1: // nlmsg_len lie on a real message boundary
            {
                int offset = RandomMessageOffset(random, buffer, length);
                if (offset + 4 <= length)
                    BinaryPrimitives.WriteUInt32LittleEndian(buffer.AsSpan(offset), LyingLength(random, BinaryPrimitives.ReadUInt32LittleEndian(buffer.AsSpan(offset))));
                break;
            }
            case 2: // rta_len lie somewhere after an inet_diag_msg
            {
                int offset = RandomMessageOffset(random, buffer, length) + 88 + 4 * random.Next(0, 60);
                if (offset + 2 <= length)
                    BinaryPrimitives.WriteUInt16LittleEndian(buffer.AsSpan(offset), (ushort)LyingLength(random, BinaryPrimitives.ReadUInt16LittleEndian(buffer.AsSpan(offset))));
                break;
            }
            case 3: // truncation
                length = random.Next(0, length + 1);
                break;
            case 4: // zero lengths
            {
                int offset = RandomMessageOffset(random, buffer, length);
                int target = random.Next(2) == 0 ? offset : offset + 88;
                if (target + 4 <= length)
                {
                    if (target == offset) BinaryPrimitives.WriteUInt32LittleEndian(buffer.AsSpan(target), 0);
                    else BinaryPrimitives.WriteUInt16LittleEndian(buffer.AsSpan(target), 0);
                }
                break;
            }
            case 5: // garbage, sometimes behind a plausible header
                length = random.Next(0, 3000);
                random.NextBytes(buffer.AsSpan(0, length));
                if (length >= 16 && random.Next(2) == 0)
                {
                    BinaryPrimitives.WriteUInt32LittleEndian(buffer, (uint)random.Next(16, length + 1));
                    BinaryPrimitives.WriteUInt16LittleEndian(buffer.AsSpan(4), (ushort)(random.Next(2) == 0 ? 20 : random.Next(0, 4)));
                }
                break;
            case 6: // splice: head of this one + tail of another at arbitrary points
            {
                var other = seeds[random.Next(seeds.Length)];
                int cut = random.Next(0, length + 1);
                int from = random.Next(0, other.Length + 1);
                int tail = Math.Min(other.Length - from, buffer.Length - cut);
                other.AsSpan(from, tail).CopyTo(buffer.AsSpan(cut));
                length = cut + tail;
                break;
            }
            default: // several mutations at once
                for (int n = random.Next(2, 6); n > 0; n--)
                {
                    int at = random.Next(Math.Max(1, length));
                    if (at < length) buffer[at] = (byte)random.Next(256);
                }
                length = Math.Max(0, length - random.Next(0, 64));
                break;
        }
        return length;
    }

    private static int RandomMessageOffset(Random random, byte[] buffer, int length)
    {
        // Walk the real headers and pick one of them (falls back to 0).
        var offsets = new List<int> { 0 };
        int offset = 0;
        while (offset + 16 <= length)
        {
            uint messageLength = BinaryPrimitives.ReadUInt32LittleEndian(buffer.AsSpan(offset));
            if (messageLength < 16 || messageLength > length - offset) break;
            offset += (int)((messageLength + 3) & ~3u);
            if (offset + 16 <= length) offsets.Add(offset);
        }
        return offsets[random.Next(offsets.Count)];
    }

    private static uint LyingLength(Random random, uint real) => random.Next(8) switch
    {
        0 => 0,
        1 => (uint)random.Next(1, 16),
        2 => real + (uint)random.Next(1, 64),
        3 => real > 8 ? real - (uint)random.Next(1, 8) : 0,
        4 => uint.MaxValue,
        5 => 0x80000000,
        6 => (uint)random.Next(),
        _ => real + 4,
    };
}
