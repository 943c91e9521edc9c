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
    /// on the socket at once, beside the first batch of a dump riding the same sendmsg. Measured here (probe
    /// `rmem`): a reply with the default attributes is a 496-byte datagram of 1,280 bytes of skb truesize, and
    /// the default 208 KiB receive buffer holds 166 of them: the 167th is dropped (ENOBUFS, sk_drops + 2). A
    /// reply grows to the next slab (2,304 bytes of truesize) for sockets with MD5 or ULP (kTLS) attributes, so
    /// the bound is 64: 64 x 2,304 B + a ~33 KiB dump batch = 180 KiB &lt; 208 KiB. Larger batches buy nothing:
    /// kernel CPU per lookup was 2.53 µs at 64, 2.43 at 128 and 2.67 at 400 (3.51 µs at 16), so the receive
    /// buffer is left at the system default rather than forced up.
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
