using System.Buffers.Binary;

namespace XtcpEpoll.Netlink.Capture;

/// <summary>
/// Reads sock_diag datagrams from a classic libpcap file with linktype 253 (LINKTYPE_NETLINK, nlmon).
/// An nlmon interface sees every netlink protocol on the host, and message types overlap between them
/// (rtnetlink's RTM_NEWADDR is 20, like SOCK_DIAG_BY_FAMILY), so each record's 16-byte "cooked" header
/// is read for its protocol (big-endian u16 at offset 14) and only NETLINK_SOCK_DIAG records are
/// returned; the others are counted by protocol in a <see cref="CaptureTally"/>. Both byte orders and
/// the nanosecond magic are accepted (only the pcap headers' byte order differs; the cooked header is
/// big-endian and the netlink payload native). Throws InvalidDataException with a one-line message on a
/// file it cannot read.
/// </summary>
public static class PcapReader
{
    public const uint MagicMicroseconds = 0xA1B2C3D4;
    public const uint MagicNanoseconds = 0xA1B23C4D;
    public const int FileHeaderSize = 24;
    public const int RecordHeaderSize = 16;
    public const int NetlinkCookedHeaderSize = 16;
    public const uint LinkTypeNetlink = 253;
    /// <summary>Offset of the netlink protocol (big-endian u16) in the cooked header.</summary>
    public const int CookedProtocolOffset = 14;

    /// <summary>True when the first 4 bytes are a pcap magic in either byte order.</summary>
    public static bool IsPcap(ReadOnlySpan<byte> start)
    {
        if (start.Length < 4)
            return false;
        uint le = BinaryPrimitives.ReadUInt32LittleEndian(start);
        uint be = BinaryPrimitives.ReadUInt32BigEndian(start);
        return le is MagicMicroseconds or MagicNanoseconds || be is MagicMicroseconds or MagicNanoseconds;
    }

    /// <summary>The sock_diag datagrams of a pcap file, in capture order (a fresh array each).</summary>
    public static IEnumerable<byte[]> ReadDatagrams(string path, CaptureTally? tally = null)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        foreach (var datagram in ReadDatagrams(stream, path, tally))
            yield return datagram;
    }

    /// <summary>
    /// The sock_diag datagrams of a pcap stream; <paramref name="name"/> is used in error messages,
    /// <paramref name="tally"/> (optional) counts what was taken and skipped.
    /// </summary>
    public static IEnumerable<byte[]> ReadDatagrams(Stream stream, string name, CaptureTally? tally = null)
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
            {
                tally?.TooShort(); // no netlink payload at all
                continue;
            }
            ushort protocol = CookedHeaderProtocol(record);
            if (protocol != NetlinkProtocols.SockDiag)
            {
                tally?.Skipped(protocol);
                continue;
            }
            tally?.Took();
            yield return record.AsSpan(NetlinkCookedHeaderSize).ToArray();
        }
    }

    /// <summary>The netlink protocol a record's cooked header names (sll_protocol, always big-endian).</summary>
    public static ushort CookedHeaderProtocol(ReadOnlySpan<byte> cookedHeader)
        => BinaryPrimitives.ReadUInt16BigEndian(cookedHeader.Slice(CookedProtocolOffset, 2));

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
