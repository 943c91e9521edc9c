using System.Numerics;
using System.Runtime.CompilerServices;
using XtcpEpoll.Netlink.Parsing;

namespace XtcpEpoll.Loop.Changes;

/// <summary>
/// A 64-bit digest of the fields of a socket that count as a change under <c>--emit changed</c> (the rule and
/// the reason for every field: design/ARCHITECTURE.md, "Change-only records"). Fields that move with time
/// alone (the last_* ages, timer expiry, the busy/rwnd/sndbuf chrono timers, total_rto_time) and fields that
/// cannot change for a cookie (addresses, ports, interface, uid, inode) are left out.
/// Each step is a bijection of the running value for a fixed input and of the input for a fixed running
/// value, so a change of any ONE counted field always changes the digest; several at once collide with
/// probability 2^-64. Field by field, not over the struct's bytes: padding is never hashed.
/// </summary>
public static class SocketFingerprint
{
    private const ulong Seed = 0x243F6A8885A308D3;

    public static unsafe ulong Of(ref ParsedSocket s)
    {
        ulong h = Seed;
        h = Step(h, Pack(s.State | (uint)s.Timer << 8 | (uint)s.Retrans << 16, (uint)s.Present));
        h = Step(h, Pack(s.RQueue, s.WQueue));
        var present = s.Present;
        if ((present & AttributeSet.MemInfo) != 0)
        {
            h = Step(h, Pack(s.MemInfoRmem, s.MemInfoWmem));
            h = Step(h, Pack(s.MemInfoFmem, s.MemInfoTmem));
        }
        if ((present & AttributeSet.Info) != 0) h = TcpInfo(h, ref s.Tcp, s.TcpInfoLength);
        if ((present & AttributeSet.Cong) != 0)
        {
            h = Step(h, (uint)s.CongestionAlgorithm | (uint)s.CongestionNameLength << 8);
            h = Step(h, Unsafe.ReadUnaligned<ulong>(ref s.CongestionName[0]));
            h = Step(h, Unsafe.ReadUnaligned<ulong>(ref s.CongestionName[8]));
        }
        h = Step(h, Pack(s.TypeOfService | (uint)s.TrafficClass << 8 | (uint)s.ShutdownState << 16, s.SockOpt));
        if ((present & AttributeSet.SkMemInfo) != 0)
        {
            h = Step(h, Pack(s.SkMemInfoRmemAlloc, s.SkMemInfoRcvBuf));
            h = Step(h, Pack(s.SkMemInfoWmemAlloc, s.SkMemInfoSndBuf));
            h = Step(h, Pack(s.SkMemInfoFwdAlloc, s.SkMemInfoWmemQueued));
            h = Step(h, Pack(s.SkMemInfoOptmem, s.SkMemInfoBacklog));
            h = Step(h, s.SkMemInfoDrops);
        }
        if ((present & AttributeSet.VegasInfo) != 0)
        {
            h = Step(h, Pack(s.VegasInfoEnabled, s.VegasInfoRttCnt));
            h = Step(h, Pack(s.VegasInfoRtt, s.VegasInfoMinRtt));
        }
        if ((present & AttributeSet.DctcpInfo) != 0)
        {
            h = Step(h, Pack(s.DctcpInfoEnabled | (uint)s.DctcpInfoCeState << 16, s.DctcpInfoAlpha));
            h = Step(h, Pack(s.DctcpInfoAbEcn, s.DctcpInfoAbTot));
        }
        if ((present & AttributeSet.BbrInfo) != 0)
        {
            h = Step(h, Pack(s.BbrInfoBwLo, s.BbrInfoBwHi));
            h = Step(h, Pack(s.BbrInfoMinRtt, s.BbrInfoPacingGain));
            h = Step(h, s.BbrInfoCwndGain);
        }
        h = Step(h, Pack(s.ClassId, s.Mark));
        h = Step(h, s.CGroup);
        return Finish(h);
    }

    // Not counted here: LastDataSent, LastAckSent, LastDataRecv, LastAckRecv, BusyTime, RwndLimited,
    // SndbufLimited, TotalRtoTime (they grow with time alone; see ARCHITECTURE).
    private static ulong TcpInfo(ulong h, ref TcpInfo t, ushort length)
    {
        h = Step(h, Pack(t.State | (uint)t.CaState << 8 | (uint)t.Retransmits << 16 | (uint)t.Probes << 24,
            t.Backoff | (uint)t.Options << 8 | (uint)t.SendScale << 16 | (uint)t.RcvScale << 20 | (uint)t.DeliveryRateAppLimited << 24 | (uint)t.FastOpenClientFailed << 26));
        h = Step(h, Pack(t.Rto, t.Ato));
        h = Step(h, Pack(t.SndMss, t.RcvMss));
        h = Step(h, Pack(t.Unacked, t.Sacked));
        h = Step(h, Pack(t.Lost, t.Retrans));
        h = Step(h, Pack(t.Fackets, t.Pmtu));
        h = Step(h, Pack(t.RcvSsthresh, t.Rtt));
        h = Step(h, Pack(t.RttVar, t.SndSsthresh));
        h = Step(h, Pack(t.SndCwnd, t.AdvMss));
        h = Step(h, Pack(t.Reordering, t.RcvRtt));
        h = Step(h, Pack(t.RcvSpace, t.TotalRetrans));
        h = Step(h, t.PacingRate);
        h = Step(h, t.MaxPacingRate);
        h = Step(h, t.BytesAcked);
        h = Step(h, t.BytesReceived);
        h = Step(h, Pack(t.SegsOut, t.SegsIn));
        h = Step(h, Pack(t.NotSentBytes, t.MinRtt));
        h = Step(h, Pack(t.DataSegsIn, t.DataSegsOut));
        h = Step(h, t.DeliveryRate);
        h = Step(h, Pack(t.Delivered, t.DeliveredCe));
        h = Step(h, t.BytesSent);
        h = Step(h, t.BytesRetrans);
        h = Step(h, Pack(t.DsackDups, t.ReordSeen));
        h = Step(h, Pack(t.RcvOoopack, t.SndWnd));
        h = Step(h, Pack(t.RcvWnd, t.Rehash));
        h = Step(h, Pack(t.TotalRto | (uint)t.TotalRtoRecoveries << 16, length));
        return h;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Pack(uint low, uint high) => low | (ulong)high << 32;

    /// <summary>Bijective in <paramref name="h"/> (xor, odd multiply, rotate) and in <paramref name="v"/> (odd multiply, xor).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Step(ulong h, ulong v) => BitOperations.RotateLeft(h ^ (v * 0x9E3779B97F4A7C15), 29) * 0xBF58476D1CE4E5B9;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Finish(ulong h)
    {
        h ^= h >> 31;
        h *= 0x94D049BB133111EB;
        return h ^ (h >> 32);
    }

    /// <summary>A well-spread 64-bit hash of a cookie (table slot, keyframe phase): splitmix64's finaliser.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong MixCookie(ulong cookie)
    {
        cookie += 0x9E3779B97F4A7C15;
        cookie = (cookie ^ (cookie >> 30)) * 0xBF58476D1CE4E5B9;
        cookie = (cookie ^ (cookie >> 27)) * 0x94D049BB133111EB;
        return cookie ^ (cookie >> 31);
    }
}
