namespace XtcpEpoll.Netlink.Parsing;

/// <summary>
/// Header-only view of one datagram (see <see cref="SockDiagReader.Summarize"/>). The dump of a socket
/// is over when <see cref="EndsDump"/>: NLMSG_DONE arrived, or an error did.
/// </summary>
public readonly record struct DatagramSummary(bool Done, int ErrorNumber, bool DumpInterrupted, uint Sequence, int SocketMessages)
{
    public bool EndsDump => Done || ErrorNumber != 0;
}
