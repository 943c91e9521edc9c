using System.Buffers.Binary;
using XtcpEpoll.Netlink.Capture;
using XtcpEpoll.Netlink.Native;

namespace XtcpEpoll.Tests.Netlink;

/// <summary>
/// Writes an nlmon-style pcap (little-endian, linktype 253): each record a 16-byte cooked header naming
/// the netlink protocol (big-endian, as the kernel's nlmon device fills it) followed by the datagram.
/// </summary>
internal sealed class NlmonPcapBuilder
{
    private readonly MemoryStream _bytes = new();

    public NlmonPcapBuilder()
    {
        var header = new byte[PcapReader.FileHeaderSize];
        BinaryPrimitives.WriteUInt32LittleEndian(header, PcapReader.MagicMicroseconds);
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(4), 2);
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(6), 4);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(16), 262144);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(20), PcapReader.LinkTypeNetlink);
        _bytes.Write(header);
    }

    public NlmonPcapBuilder Datagram(ushort protocol, ReadOnlySpan<byte> datagram)
    {
        var record = new byte[PcapReader.RecordHeaderSize + PcapReader.NetlinkCookedHeaderSize];
        BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(8), (uint)(PcapReader.NetlinkCookedHeaderSize + datagram.Length));
        BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(12), (uint)(PcapReader.NetlinkCookedHeaderSize + datagram.Length));
        var cooked = record.AsSpan(PcapReader.RecordHeaderSize);
        BinaryPrimitives.WriteUInt16BigEndian(cooked, 4);                // PACKET_OUTGOING
        BinaryPrimitives.WriteUInt16BigEndian(cooked.Slice(2), 824);     // ARPHRD_NETLINK
        BinaryPrimitives.WriteUInt16BigEndian(cooked.Slice(PcapReader.CookedProtocolOffset), protocol);
        _bytes.Write(record);
        _bytes.Write(datagram);
        return this;
    }

    public byte[] ToArray() => _bytes.ToArray();

    /// <summary>
    /// Every record of a little-endian nlmon pcap as (protocol, datagram), read here independently of
    /// PcapReader so tests can pick the real datagrams of one protocol out of a capture.
    /// </summary>
    public static List<(ushort Protocol, byte[] Datagram)> Records(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var records = new List<(ushort, byte[])>();
        for (int offset = PcapReader.FileHeaderSize; offset + PcapReader.RecordHeaderSize <= bytes.Length;)
        {
            int captured = (int)BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(offset + 8));
            var record = bytes.AsSpan(offset + PcapReader.RecordHeaderSize, captured);
            records.Add((BinaryPrimitives.ReadUInt16BigEndian(record.Slice(14)), record.Slice(PcapReader.NetlinkCookedHeaderSize).ToArray()));
            offset += PcapReader.RecordHeaderSize + captured;
        }
        return records;
    }

    /// <summary>A generic-netlink (protocol 16) reply: CTRL_CMD_NEWFAMILY header only.</summary>
    public static byte[] GenericNetlinkReply(uint sequence)
        => new DatagramBuilder().Message(16, 0, sequence, [1, 2, 0, 0]).ToArray();
}
