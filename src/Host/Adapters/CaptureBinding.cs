namespace XtcpEpoll.Host.Adapters;

/// <summary>Thin seam over Netlink's CaptureFile (pcap nlmon or raw datagram file → datagrams).</summary>
public static class CaptureBinding
{
    /// <summary>Datagrams of one capture; throws InvalidDataException for a file that is neither format.</summary>
    public static IEnumerable<ReadOnlyMemory<byte>> ReadDatagrams(string path)
        => throw new InvalidDataException($"capture reading not merged yet ({path})"); // TEMPORARY until branch netlink has CaptureFile
}
