using static XtcpEpoll.Netlink.Native.NetlinkConstants;
using static XtcpEpoll.Netlink.Parsing.Wire;

namespace XtcpEpoll.Netlink.Parsing;

/// <summary>
/// Zero-copy walk over the netlink messages of ONE received datagram. Each Next call fills the caller's
/// ParsedSocket in place (no allocation) and reports what it found. Damaged input never throws and is
/// never read out of bounds: it is counted in the ParseErrorCounters and the damaged message is not
/// emitted; the walk goes on while message lengths are still trustworthy.
/// Handles SOCK_DIAG_BY_FAMILY (20) and compat TCPDIAG_GETSOCK (18) replies alike.
/// </summary>
public ref partial struct SockDiagReader
{
    private readonly ReadOnlySpan<byte> _datagram;
    private readonly ParseErrorCounters? _errors;
    private readonly AttributeSet _wanted;
    private int _offset;

    public SockDiagReader(ReadOnlySpan<byte> datagram, ParseErrorCounters? errors)
        : this(datagram, errors, (AttributeSet)uint.MaxValue)
    {
    }

    /// <summary>
    /// As above, decoding only the attributes in <paramref name="wanted"/>: the kernel sends some
    /// (SHUTDOWN, CGROUP_ID, SOCKOPT, MARK) whatever idiag_ext asked, and a disabled attribute must
    /// not reach the record.
    /// </summary>
    public SockDiagReader(ReadOnlySpan<byte> datagram, ParseErrorCounters? errors, AttributeSet wanted)
    {
        _datagram = datagram;
        _errors = errors;
        _wanted = wanted;
        _offset = 0;
        ErrorNumber = 0;
        DumpInterrupted = false;
        Sequence = 0;
    }

    /// <summary>Positive errno after <see cref="SockDiagItem.Error"/>.</summary>
    public int ErrorNumber { get; private set; }

    /// <summary>Some message carried NLM_F_DUMP_INTR: the dump is inconsistent (table changed meanwhile).</summary>
    public bool DumpInterrupted { get; private set; }

    /// <summary>nlmsg_seq of the last message looked at.</summary>
    public uint Sequence { get; private set; }

    public SockDiagItem Next(ref ParsedSocket socket)
    {
        while (true)
        {
            var step = NextMessage(_datagram, ref _offset, out var message, out ParseErrorKind damage);
            if (step == HeaderStep.End)
                return SockDiagItem.End;
            if (step == HeaderStep.Damaged)
            {
                _errors?.Increment(damage);
                return SockDiagItem.End;
            }

            ushort type = U16(message, 4);
            Sequence = U32(message, 8);
            if ((U16(message, 6) & NLM_F_DUMP_INTR) != 0)
                DumpInterrupted = true;

            switch (type)
            {
                case SOCK_DIAG_BY_FAMILY:
                case TCPDIAG_GETSOCK:
                    if (SocketMessageDecoder.TryDecode(message, ref socket, _errors, _wanted))
                        return SockDiagItem.Socket;
                    continue;
                case NLMSG_DONE:
                    // The kernel puts an int in DONE's payload; negative = the dump failed part-way.
                    if (message.Length >= NlMsgHdrSize + 4 && (int)U32(message, NlMsgHdrSize) is < 0 and var doneCode)
                    {
                        ErrorNumber = ToErrno(doneCode);
                        return SockDiagItem.Error;
                    }
                    return SockDiagItem.Done;
                case NLMSG_ERROR:
                    if (message.Length < NlMsgHdrSize + 4)
                    {
                        _errors?.Increment(ParseErrorKind.TruncatedErrorMessage);
                        continue;
                    }
                    int code = (int)U32(message, NlMsgHdrSize);
                    if (code == 0)
                        continue; // an ACK, not an error
                    ErrorNumber = ToErrno(code);
                    return SockDiagItem.Error;
                case NLMSG_NOOP:
                    continue;
                default:
                    _errors?.Increment(ParseErrorKind.UnexpectedMessageType);
                    continue;
            }
        }
    }

    /// <summary>
    /// Header-only scan of a datagram (no attribute decoding, no counters): whether it ends the dump,
    /// the error, DUMP_INTR, the last sequence and how many socket messages it holds.
    /// </summary>
    public static DatagramSummary Summarize(ReadOnlySpan<byte> datagram)
    {
        int offset = 0, sockets = 0, errorNumber = 0;
        bool done = false, interrupted = false;
        uint sequence = 0;
        while (NextMessage(datagram, ref offset, out var message, out _) == HeaderStep.Message)
        {
            ushort type = U16(message, 4);
            sequence = U32(message, 8);
            if ((U16(message, 6) & NLM_F_DUMP_INTR) != 0)
                interrupted = true;
            if (type == SOCK_DIAG_BY_FAMILY || type == TCPDIAG_GETSOCK)
            {
                if (message.Length >= NlMsgHdrSize + InetDiagMsgSize)
                    sockets++;
            }
            else if (type == NLMSG_DONE)
            {
                done = true;
                if (message.Length >= NlMsgHdrSize + 4 && (int)U32(message, NlMsgHdrSize) is < 0 and var doneCode)
                    errorNumber = ToErrno(doneCode);
                break;
            }
            else if (type == NLMSG_ERROR && message.Length >= NlMsgHdrSize + 4)
            {
                int code = (int)U32(message, NlMsgHdrSize);
                if (code != 0)
                {
                    errorNumber = ToErrno(code);
                    break;
                }
            }
        }
        return new DatagramSummary(done, errorNumber, interrupted, sequence, sockets);
    }

    private enum HeaderStep : byte { Message, End, Damaged }

    /// <summary>
    /// Frames the next message: checks its header and length against the bytes left and advances the
    /// offset past it (aligned). A length that cannot be trusted ends the walk of this datagram.
    /// </summary>
    private static HeaderStep NextMessage(ReadOnlySpan<byte> datagram, ref int offset, out ReadOnlySpan<byte> message, out ParseErrorKind damage)
    {
        message = default;
        damage = default;
        int remaining = datagram.Length - offset;
        if (remaining <= 0)
            return HeaderStep.End;
        if (remaining < NlMsgHdrSize)
        {
            offset = datagram.Length;
            damage = ParseErrorKind.TruncatedHeader;
            return HeaderStep.Damaged;
        }
        var rest = datagram.Slice(offset);
        uint length = U32(rest, 0);
        if (length < NlMsgHdrSize)
        {
            offset = datagram.Length;
            damage = ParseErrorKind.LengthTooSmall;
            return HeaderStep.Damaged;
        }
        if (length > (uint)remaining)
        {
            offset = datagram.Length;
            damage = ParseErrorKind.LengthOverflow;
            return HeaderStep.Damaged;
        }
        message = rest.Slice(0, (int)length);
        // NLMSG_ALIGN; the last message's padding may be missing from the datagram.
        offset += (int)Math.Min((length + 3) & ~3u, (uint)remaining);
        return HeaderStep.Message;
    }

    private static int ToErrno(int code) => code == int.MinValue ? int.MaxValue : Math.Abs(code);
}
