using System.Buffers.Binary;
using XtcpEpoll.Netlink.Native;

namespace XtcpEpoll.Tests.Netlink;

/// <summary>Builds synthetic netlink datagrams for parser edge-case tests.</summary>
internal sealed class DatagramBuilder
{
    private readonly List<byte> _bytes = new();

    public byte[] ToArray() => _bytes.ToArray();

    public DatagramBuilder Raw(params byte[] bytes) { _bytes.AddRange(bytes); return this; }

    public DatagramBuilder Message(ushort type, ushort flags, uint sequence, byte[] payload, int? lengthOverride = null)
    {
        var header = new byte[16];
        BinaryPrimitives.WriteUInt32LittleEndian(header, (uint)(lengthOverride ?? 16 + payload.Length));
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(4), type);
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(6), flags);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(8), sequence);
        _bytes.AddRange(header);
        _bytes.AddRange(payload);
        while (_bytes.Count % 4 != 0) _bytes.Add(0);
        return this;
    }

    public DatagramBuilder Done(uint sequence, int code = 0, ushort flags = NetlinkConstants.NLM_F_MULTI)
        => Message(NetlinkConstants.NLMSG_DONE, flags, sequence, BitConverter.GetBytes(code));

    public DatagramBuilder Error(uint sequence, int code)
    {
        var payload = new byte[4 + 16];
        BinaryPrimitives.WriteInt32LittleEndian(payload, code);
        return Message(NetlinkConstants.NLMSG_ERROR, 0, sequence, payload);
    }

    public DatagramBuilder Socket(uint sequence, ushort sourcePort, ushort destinationPort, ushort type = NetlinkConstants.SOCK_DIAG_BY_FAMILY,
        ushort flags = NetlinkConstants.NLM_F_MULTI, byte family = NetlinkConstants.AF_INET, params byte[][] attributes)
    {
        var body = new List<byte>(InetDiagMsg(family, sourcePort, destinationPort));
        foreach (var attribute in attributes)
        {
            body.AddRange(attribute);
            while (body.Count % 4 != 0) body.Add(0);
        }
        return Message(type, flags, sequence, body.ToArray());
    }

    public static byte[] InetDiagMsg(byte family, ushort sourcePort, ushort destinationPort)
    {
        var msg = new byte[72];
        msg[0] = family;
        msg[1] = NetlinkConstants.AF_INET == family ? (byte)1 : (byte)10;
        BinaryPrimitives.WriteUInt16BigEndian(msg.AsSpan(4), sourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(msg.AsSpan(6), destinationPort);
        msg[8] = 127; msg[11] = 1;
        BinaryPrimitives.WriteUInt32LittleEndian(msg.AsSpan(44), 0x11223344);
        BinaryPrimitives.WriteUInt32LittleEndian(msg.AsSpan(48), 0x55667788);
        BinaryPrimitives.WriteUInt32LittleEndian(msg.AsSpan(68), 4242);
        return msg;
    }

    /// <summary>An rtattr; <paramref name="lengthOverride"/> lets a test lie about rta_len.</summary>
    public static byte[] Attribute(ushort type, byte[] payload, int? lengthOverride = null)
    {
        var attribute = new byte[4 + payload.Length];
        BinaryPrimitives.WriteUInt16LittleEndian(attribute, (ushort)(lengthOverride ?? attribute.Length));
        BinaryPrimitives.WriteUInt16LittleEndian(attribute.AsSpan(2), type);
        payload.CopyTo(attribute, 4);
        return attribute;
    }
}
