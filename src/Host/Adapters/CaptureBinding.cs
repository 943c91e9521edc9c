using XtcpEpoll.Netlink.Capture;

namespace XtcpEpoll.Host.Adapters;

/// <summary>Thin seam over Netlink's CaptureFile (pcap nlmon, raw datagram file or directory → datagrams).</summary>
public static class CaptureBinding
{
    /// <summary>
    /// The sock_diag datagrams of one capture (other netlink protocols of an nlmon pcap are counted in
    /// <paramref name="tally"/>, not returned); throws InvalidDataException (one-line message) for an unknown format.
    /// </summary>
    public static IEnumerable<byte[]> ReadDatagrams(string path, CaptureTally? tally = null) => CaptureFile.ReadDatagrams(path, tally);
}
