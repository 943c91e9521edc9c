using XtcpEpoll.Netlink.Requests;

namespace XtcpEpoll.Loop.Dumps;

/// <summary>
/// The requests of one sendmsg, written by a <see cref="NamespaceDump"/> and sent by its lane, and the lane's
/// sequence counter: every request of a lane gets its own number, so each reply matches exactly one request
/// and a late reply of an earlier dump is never taken for data of this one. One per lane (lane thread only),
/// sized for one dump request plus <see cref="MaxLookups"/> exact lookups.
/// </summary>
internal sealed class RequestBuffer
{
    /// <summary>
    /// Exact lookups per sendmsg. The kernel answers every lookup inside the sendmsg, so all replies are queued
    /// on the socket at once, beside the first batch of a dump riding the same sendmsg: 64 replies at their
    /// largest truesize (sockets with MD5 or ULP attributes) plus a dump batch fit the default receive buffer,
    /// and larger batches cost the kernel no less per lookup, so the buffer is left at the system default
    /// (figures: design/PERFORMANCE.md, "What the kernel charges").
    /// </summary>
    public const int MaxLookups = 64;

    private readonly byte[] _bytes = new byte[DumpRequestBuilder.CompatSize + MaxLookups * DumpRequestBuilder.V2Size];
    private int _length;
    private uint _sequence;

    /// <param name="lastSequence">Sequence numbers handed out start after this one.</param>
    public RequestBuffer(uint lastSequence) => _sequence = lastSequence;

    /// <summary>The requests written since <see cref="Clear"/>, for one send.</summary>
    public ReadOnlySpan<byte> Written => _bytes.AsSpan(0, _length);

    /// <summary>The last sequence number handed out.</summary>
    public uint LastSequence => _sequence;

    public void Clear() => _length = 0;

    /// <summary>Compat TCPDIAG_GETSOCK dump (IPv4 and IPv6 in one walk); returns its sequence number.</summary>
    public uint AddCompatDump(uint states, byte idiagExt)
    {
        uint seq = ++_sequence;
        _length += DumpRequestBuilder.WriteCompat(_bytes.AsSpan(_length), states, idiagExt, seq);
        return seq;
    }

    /// <summary>SOCK_DIAG_BY_FAMILY dump of one family; returns its sequence number.</summary>
    public uint AddV2Dump(byte family, uint states, byte idiagExt)
    {
        uint seq = ++_sequence;
        _length += DumpRequestBuilder.WriteV2(_bytes.AsSpan(_length), family, states, idiagExt, seq);
        return seq;
    }

    /// <summary>Exact request for one socket (no NLM_F_DUMP); returns its sequence number.</summary>
    public uint AddLookup(in SocketKey key, byte idiagExt)
    {
        uint seq = ++_sequence;
        _length += DumpRequestBuilder.WriteExactV2(_bytes.AsSpan(_length), in key, idiagExt, seq);
        return seq;
    }
}
