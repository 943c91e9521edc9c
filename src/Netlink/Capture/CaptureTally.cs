using System.Text;

namespace XtcpEpoll.Netlink.Capture;

/// <summary>
/// What reading captures took and left: sock_diag datagrams taken, datagrams of other netlink protocols
/// skipped (by protocol), pcap records too short to hold the 16-byte cooked header. One instance may
/// span several files; not thread-safe (a replay reads its files one after another).
/// </summary>
public sealed class CaptureTally
{
    private readonly SortedDictionary<ushort, long> _skippedByProtocol = new();

    /// <summary>Datagrams handed on: sock_diag records of a pcap, and every raw datagram file.</summary>
    public long SockDiagDatagrams { get; private set; }

    /// <summary>pcap records shorter than the cooked header (no netlink payload at all).</summary>
    public long ShortRecords { get; private set; }

    public long SkippedDatagrams { get; private set; }

    public IReadOnlyDictionary<ushort, long> SkippedByProtocol => _skippedByProtocol;

    internal void Took() => SockDiagDatagrams++;

    internal void TooShort() => ShortRecords++;

    internal void Skipped(ushort protocol)
    {
        SkippedDatagrams++;
        _skippedByProtocol[protocol] = _skippedByProtocol.GetValueOrDefault(protocol) + 1;
    }

    /// <summary>
    /// One clause for a summary line: "1200 sock_diag datagrams, skipped 3 of other netlink protocols
    /// (route 2, generic 1)"; records too short for a cooked header are named only when there were some.
    /// </summary>
    public override string ToString()
    {
        var text = new StringBuilder();
        text.Append(SockDiagDatagrams).Append(" sock_diag datagrams, skipped ").Append(SkippedDatagrams).Append(" of other netlink protocols");
        if (SkippedDatagrams > 0)
        {
            text.Append(" (");
            bool first = true;
            foreach (var (protocol, count) in _skippedByProtocol)
            {
                if (!first) text.Append(", ");
                text.Append(NetlinkProtocols.Name(protocol)).Append(' ').Append(count);
                first = false;
            }
            text.Append(')');
        }
        if (ShortRecords > 0)
            text.Append(", ").Append(ShortRecords).Append(" pcap records too short for a netlink header");
        return text.ToString();
    }
}
