using XtcpEpoll.Netlink.Capture;

namespace XtcpEpoll.Host.Adapters;

/// <summary>Thin seam over Netlink's CaptureFile (pcap nlmon, raw datagram file or directory → datagrams).</summary>
public static class CaptureBinding
{
    /// <summary>Datagrams of one capture; throws InvalidDataException (one-line message) for an unknown format.</summary>
    public static IEnumerable<byte[]> ReadDatagrams(string path) => CaptureFile.ReadDatagrams(path);
}
