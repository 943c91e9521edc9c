using System.Buffers.Binary;

namespace XtcpEpoll.Netlink.Capture;

/// <summary>
/// Reads netlink datagrams from a classic libpcap file with linktype 253 (LINKTYPE_NETLINK, nlmon).
/// Each record's 16-byte netlink "cooked" header is skipped. Both byte orders and the nanosecond
/// magic are accepted (only the header's byte order differs; the netlink payload is native).
/// Throws InvalidDataException with a one-line message on a file it cannot read.
/// </summary>
public static class PcapReader
{
    public const uint MagicMicroseconds = 0xA1B2C3D4;
    public const uint MagicNanoseconds = 0xA1B23C4D;
    public const int FileHeaderSize = 24;
    public const int RecordHeaderSize = 16;
    public const int NetlinkCookedHeaderSize = 16;
    public const uint LinkTypeNetlink = 253;

    /// <summary>True when the first 4 bytes are a pcap magic in either byte order.</summary>
    public static bool IsPcap(ReadOnlySpan<byte> start)
    {
        if (start.Length < 4)
            return false;
        uint le = BinaryPrimitives.ReadUInt32LittleEndian(start);
        uint be = BinaryPrimitives.ReadUInt32BigEndian(start);
        return le is MagicMicroseconds or MagicNanoseconds || be is MagicMicroseconds or MagicNanoseconds;
    }

    /// <summary>The datagrams of a pcap file, in capture order (a fresh array each).</summary>
    public static IEnumerable<byte[]> ReadDatagrams(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        foreach (var datagram in ReadDatagrams(stream, path))
            yield return datagram;
    }

    /// <summary>The datagrams of a pcap stream; <paramref name="name"/> is used in error messages.</summary>
    public static IEnumerable<byte[]> ReadDatagrams(Stream stream, string name)
    {
        var header = new byte[FileHeaderSize];
        if (!ReadFully(stream, header))
            throw new InvalidDataException($"{name}: too short for a pcap file header (24 bytes)");
        bool bigEndian;
        uint magicLe = BinaryPrimitives.ReadUInt32LittleEndian(header);
        if (magicLe is MagicMicroseconds or MagicNanoseconds)
            bigEndian = false;
        else if (BinaryPrimitives.ReadUInt32BigEndian(header) is MagicMicroseconds or MagicNanoseconds)
            bigEndian = true;
        else
            throw new InvalidDataException($"{name}: not a pcap file (magic {magicLe:x8})");

        uint linkType = ReadU32(header.AsSpan(20), bigEndian) & 0x0FFFFFFF; // top bits: FCS info
        if (linkType != LinkTypeNetlink)
            throw new InvalidDataException($"{name}: pcap linktype {linkType}, expected 253 (netlink, captured on an nlmon interface)");

        var recordHeader = new byte[RecordHeaderSize];
        long recordIndex = 0;
        while (true)
        {
            int got = ReadAtMost(stream, recordHeader);
            if (got == 0)
                yield break;
            if (got < RecordHeaderSize)
                throw new InvalidDataException($"{name}: record {recordIndex} header cut short ({got} of 16 bytes)");
            uint capturedLength = ReadU32(recordHeader.AsSpan(8), bigEndian);
            if (capturedLength > 64 * 1024 * 1024)
                throw new InvalidDataException($"{name}: record {recordIndex} claims {capturedLength} bytes; file is damaged");
            var record = new byte[capturedLength];
            if (!ReadFully(stream, record))
                throw new InvalidDataException($"{name}: record {recordIndex} data cut short (wanted {capturedLength} bytes)");
            recordIndex++;
            if (record.Length < NetlinkCookedHeaderSize)
                continue; // no netlink payload at all
            yield return record.AsSpan(NetlinkCookedHeaderSize).ToArray();
        }
    }

    private static uint ReadU32(ReadOnlySpan<byte> span, bool bigEndian)
        => bigEndian ? BinaryPrimitives.ReadUInt32BigEndian(span) : BinaryPrimitives.ReadUInt32LittleEndian(span);

    private static bool ReadFully(Stream stream, byte[] buffer) => ReadAtMost(stream, buffer) == buffer.Length;

    private static int ReadAtMost(Stream stream, byte[] buffer)
    {
        int total = 0;
        while (total < buffer.Length)
        {
            int n = stream.Read(buffer, total, buffer.Length - total);
            if (n == 0)
                break;
            total += n;
        }
        return total;
    }
}
