using System.Buffers.Binary;
using XtcpEpoll.Netlink.Native;

namespace XtcpEpoll.Netlink.Capture;

/// <summary>
/// Opens what `xtcp-epoll replay` is given: a pcap (linktype 253; only its NETLINK_SOCK_DIAG records are
/// taken, see PcapReader), a raw datagram file (the bytes of one recv from a sock_diag socket, starting at
/// an nlmsghdr), or a directory of raw datagram files (read in name order). Unknown formats throw
/// InvalidDataException with a one-line message naming the file.
/// </summary>
public static class CaptureFile
{
    /// <summary>The sock_diag datagrams of a capture; <paramref name="tally"/> (optional) counts taken and skipped.</summary>
    public static IEnumerable<byte[]> ReadDatagrams(string path, CaptureTally? tally = null)
    {
        if (Directory.Exists(path))
            return ReadDirectory(path, tally);
        if (!File.Exists(path))
            throw new FileNotFoundException($"{path}: no such file or directory", path);
        return ReadFile(path, tally);
    }

    private static IEnumerable<byte[]> ReadDirectory(string directory, CaptureTally? tally)
    {
        var files = Directory.GetFiles(directory);
        Array.Sort(files, StringComparer.Ordinal);
        foreach (var file in files)
        {
            foreach (var datagram in ReadFile(file, tally))
                yield return datagram;
        }
    }

    private static IEnumerable<byte[]> ReadFile(string path, CaptureTally? tally)
    {
        Span<byte> start = stackalloc byte[8];
        int got;
        using (var stream = File.OpenRead(path))
            got = stream.ReadAtLeast(start, start.Length, throwOnEndOfStream: false);
        start = start.Slice(0, got);

        if (PcapReader.IsPcap(start))
            return PcapReader.ReadDatagrams(path, tally);
        if (got >= 4 && BinaryPrimitives.ReadUInt32LittleEndian(start) == 0x0A0D0D0A)
            throw new InvalidDataException($"{path}: pcapng is not supported; convert it with `editcap -F pcap {path} out.pcap`");
        if (LooksLikeNetlink(start, new FileInfo(path).Length))
        {
            tally?.Took();
            return [File.ReadAllBytes(path)];
        }
        throw new InvalidDataException($"{path}: neither a pcap (linktype 253) nor a raw netlink datagram (nlmsghdr) file");
    }

    /// <summary>An nlmsghdr whose length fits the file and whose type is one sock_diag replies use.</summary>
    private static bool LooksLikeNetlink(ReadOnlySpan<byte> start, long fileLength)
    {
        if (start.Length < 8 || fileLength < NetlinkConstants.NlMsgHdrSize)
            return false;
        uint length = BinaryPrimitives.ReadUInt32LittleEndian(start);
        ushort type = BinaryPrimitives.ReadUInt16LittleEndian(start.Slice(4));
        bool knownType = type is NetlinkConstants.NLMSG_NOOP or NetlinkConstants.NLMSG_ERROR or NetlinkConstants.NLMSG_DONE
            or NetlinkConstants.TCPDIAG_GETSOCK or NetlinkConstants.SOCK_DIAG_BY_FAMILY;
        return knownType && length >= NetlinkConstants.NlMsgHdrSize && length <= fileLength;
    }
}
