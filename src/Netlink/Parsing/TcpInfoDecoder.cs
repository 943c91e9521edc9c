using System.Runtime.CompilerServices;
using static XtcpEpoll.Netlink.Native.TcpInfoLayout;
using static XtcpEpoll.Netlink.Parsing.Wire;

namespace XtcpEpoll.Netlink.Parsing;

/// <summary>
/// Decodes struct tcp_info field by field. A payload shorter than the newest layout (older kernel) is
/// copied into a zeroed stack buffer first, so absent tail fields read as zero with one code path;
/// a longer one (newer kernel) is read up to the layout we know.
/// </summary>
public static class TcpInfoDecoder
{
    public static void Decode(ReadOnlySpan<byte> payload, ref TcpInfo info)
    {
        if (payload.Length >= KnownSize)
            DecodeKnownSize(payload, ref info);
        else
            DecodePadded(payload, ref info);
    }

    [SkipLocalsInit]
    private static void DecodePadded(ReadOnlySpan<byte> payload, ref TcpInfo info)
    {
        Span<byte> padded = stackalloc byte[KnownSize];
        payload.CopyTo(padded);
        padded.Slice(payload.Length).Clear();
        DecodeKnownSize(padded, ref info);
    }

    private static void DecodeKnownSize(ReadOnlySpan<byte> s, ref TcpInfo t)
    {
        if (s.Length < KnownSize)
            throw new ArgumentException("tcp_info span shorter than the known layout", nameof(s)); // unreachable by construction
        t.State = s[State];
        t.CaState = s[CaState];
        t.Retransmits = s[Retransmits];
        t.Probes = s[Probes];
        t.Backoff = s[Backoff];
        t.Options = s[Options];
        byte wscale = s[WScale];
        t.SendScale = (byte)(wscale & 0x0F);
        t.RcvScale = (byte)(wscale >> 4);
        byte flags = s[AppLimitedAndFastOpen];
        t.DeliveryRateAppLimited = (byte)(flags & 0x01);
        t.FastOpenClientFailed = (byte)((flags >> 1) & 0x03);
        t.Rto = U32(s, Rto);
        t.Ato = U32(s, Ato);
        t.SndMss = U32(s, SndMss);
        t.RcvMss = U32(s, RcvMss);
        t.Unacked = U32(s, Unacked);
        t.Sacked = U32(s, Sacked);
        t.Lost = U32(s, Lost);
        t.Retrans = U32(s, Retrans);
        t.Fackets = U32(s, Fackets);
        t.LastDataSent = U32(s, LastDataSent);
        t.LastAckSent = U32(s, LastAckSent);
        t.LastDataRecv = U32(s, LastDataRecv);
        t.LastAckRecv = U32(s, LastAckRecv);
        t.Pmtu = U32(s, Pmtu);
        t.RcvSsthresh = U32(s, RcvSsthresh);
        t.Rtt = U32(s, Rtt);
        t.RttVar = U32(s, RttVar);
        t.SndSsthresh = U32(s, SndSsthresh);
        t.SndCwnd = U32(s, SndCwnd);
        t.AdvMss = U32(s, AdvMss);
        t.Reordering = U32(s, Reordering);
        t.RcvRtt = U32(s, RcvRtt);
        t.RcvSpace = U32(s, RcvSpace);
        t.TotalRetrans = U32(s, TotalRetrans);
        t.PacingRate = U64(s, PacingRate);
        t.MaxPacingRate = U64(s, MaxPacingRate);
        t.BytesAcked = U64(s, BytesAcked);
        t.BytesReceived = U64(s, BytesReceived);
        t.SegsOut = U32(s, SegsOut);
        t.SegsIn = U32(s, SegsIn);
        t.NotSentBytes = U32(s, NotSentBytes);
        t.MinRtt = U32(s, MinRtt);
        t.DataSegsIn = U32(s, DataSegsIn);
        t.DataSegsOut = U32(s, DataSegsOut);
        t.DeliveryRate = U64(s, DeliveryRate);
        t.BusyTime = U64(s, BusyTime);
        t.RwndLimited = U64(s, RwndLimited);
        t.SndbufLimited = U64(s, SndbufLimited);
        t.Delivered = U32(s, Delivered);
        t.DeliveredCe = U32(s, DeliveredCe);
        t.BytesSent = U64(s, BytesSent);
        t.BytesRetrans = U64(s, BytesRetrans);
        t.DsackDups = U32(s, DsackDups);
        t.ReordSeen = U32(s, ReordSeen);
        t.RcvOoopack = U32(s, RcvOoopack);
        t.SndWnd = U32(s, SndWnd);
        t.RcvWnd = U32(s, RcvWnd);
        t.Rehash = U32(s, Rehash);
        t.TotalRto = U16(s, TotalRto);
        t.TotalRtoRecoveries = U16(s, TotalRtoRecoveries);
        t.TotalRtoTime = U32(s, TotalRtoTime);
        t.ReceivedCe = U32(s, ReceivedCe);
        t.DeliveredE1Bytes = U32(s, DeliveredE1Bytes);
        t.DeliveredE0Bytes = U32(s, DeliveredE0Bytes);
        t.DeliveredCeBytes = U32(s, DeliveredCeBytes);
        t.ReceivedE1Bytes = U32(s, ReceivedE1Bytes);
        t.ReceivedE0Bytes = U32(s, ReceivedE0Bytes);
        t.ReceivedCeBytes = U32(s, ReceivedCeBytes);
        t.AccecnFailMode = U16(s, AccecnFailMode);
        t.AccecnOptSeen = U16(s, AccecnOptSeen);
    }
}
