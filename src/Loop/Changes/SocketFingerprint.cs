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
    private const ulong SeedA = 0x243F6A8885A308D3, SeedB = 0x13198A2E03707344, SeedC = 0xA4093822299F31D0, SeedD = 0x082EFA98EC4E6C89;

    // Four independent chains (a, b, c, d) instead of one: each step waits only for its own chain's last
    // multiply, so the CPU runs four at once (one serial chain of ~45 multiplies was most of the compare's
    // cost, design/PERFORMANCE.md). They are combined by xor, after which a change confined to one chain
    // still changes the result.
    public static unsafe ulong Of(ref ParsedSocket s)
    {
        ulong a = SeedA, b = SeedB, c = SeedC, d = SeedD;
        var present = s.Present;
        a = Step(a, Pack(s.State | (uint)s.Timer << 8 | (uint)s.Retrans << 16, (uint)present));
        b = Step(b, Pack(s.RQueue, s.WQueue));
        if ((present & AttributeSet.MemInfo) != 0)
        {
            c = Step(c, Pack(s.MemInfoRmem, s.MemInfoWmem));
            d = Step(d, Pack(s.MemInfoFmem, s.MemInfoTmem));
        }
        if ((present & AttributeSet.Info) != 0)
        {
            // Not counted: LastDataSent, LastAckSent, LastDataRecv, LastAckRecv, BusyTime, RwndLimited,
            // SndbufLimited, TotalRtoTime (they grow with time alone; see ARCHITECTURE).
            ref var t = ref s.Tcp;
            a = Step(a, Pack(t.State | (uint)t.CaState << 8 | (uint)t.Retransmits << 16 | (uint)t.Probes << 24,
                t.Backoff | (uint)t.Options << 8 | (uint)t.SendScale << 16 | (uint)t.RcvScale << 20 | (uint)t.DeliveryRateAppLimited << 24 | (uint)t.FastOpenClientFailed << 26));
            b = Step(b, Pack(t.Rto, t.Ato));
            c = Step(c, Pack(t.SndMss, t.RcvMss));
            d = Step(d, Pack(t.Unacked, t.Sacked));
            a = Step(a, Pack(t.Lost, t.Retrans));
            b = Step(b, Pack(t.Fackets, t.Pmtu));
            c = Step(c, Pack(t.RcvSsthresh, t.Rtt));
            d = Step(d, Pack(t.RttVar, t.SndSsthresh));
            a = Step(a, Pack(t.SndCwnd, t.AdvMss));
            b = Step(b, Pack(t.Reordering, t.RcvRtt));
            c = Step(c, Pack(t.RcvSpace, t.TotalRetrans));
            d = Step(d, t.PacingRate);
            a = Step(a, t.MaxPacingRate);
            b = Step(b, t.BytesAcked);
            c = Step(c, t.BytesReceived);
            d = Step(d, Pack(t.SegsOut, t.SegsIn));
            a = Step(a, Pack(t.NotSentBytes, t.MinRtt));
            b = Step(b, Pack(t.DataSegsIn, t.DataSegsOut));
            c = Step(c, t.DeliveryRate);
            d = Step(d, Pack(t.Delivered, t.DeliveredCe));
            a = Step(a, t.BytesSent);
            b = Step(b, t.BytesRetrans);
            c = Step(c, Pack(t.DsackDups, t.ReordSeen));
            d = Step(d, Pack(t.RcvOoopack, t.SndWnd));
            a = Step(a, Pack(t.RcvWnd, t.Rehash));
            b = Step(b, Pack(t.TotalRto | (uint)t.TotalRtoRecoveries << 16, s.TcpInfoLength));
        }
        if ((present & AttributeSet.Cong) != 0)
        {
            c = Step(c, (uint)s.CongestionAlgorithm | (uint)s.CongestionNameLength << 8);
            d = Step(d, Unsafe.ReadUnaligned<ulong>(ref s.CongestionName[0]));
            a = Step(a, Unsafe.ReadUnaligned<ulong>(ref s.CongestionName[8]));
        }
        b = Step(b, Pack(s.TypeOfService | (uint)s.TrafficClass << 8 | (uint)s.ShutdownState << 16, s.SockOpt));
        if ((present & AttributeSet.SkMemInfo) != 0)
        {
            c = Step(c, Pack(s.SkMemInfoRmemAlloc, s.SkMemInfoRcvBuf));
            d = Step(d, Pack(s.SkMemInfoWmemAlloc, s.SkMemInfoSndBuf));
            a = Step(a, Pack(s.SkMemInfoFwdAlloc, s.SkMemInfoWmemQueued));
            b = Step(b, Pack(s.SkMemInfoOptmem, s.SkMemInfoBacklog));
            c = Step(c, s.SkMemInfoDrops);
        }
        if ((present & (AttributeSet.VegasInfo | AttributeSet.DctcpInfo | AttributeSet.BbrInfo)) != 0)
        {
            if ((present & AttributeSet.VegasInfo) != 0)
            {
                d = Step(d, Pack(s.VegasInfoEnabled, s.VegasInfoRttCnt));
                a = Step(a, Pack(s.VegasInfoRtt, s.VegasInfoMinRtt));
            }
            if ((present & AttributeSet.DctcpInfo) != 0)
            {
                b = Step(b, Pack(s.DctcpInfoEnabled | (uint)s.DctcpInfoCeState << 16, s.DctcpInfoAlpha));
                c = Step(c, Pack(s.DctcpInfoAbEcn, s.DctcpInfoAbTot));
            }
            if ((present & AttributeSet.BbrInfo) != 0)
            {
                d = Step(d, Pack(s.BbrInfoBwLo, s.BbrInfoBwHi));
                a = Step(a, Pack(s.BbrInfoMinRtt, s.BbrInfoPacingGain));
                b = Step(b, s.BbrInfoCwndGain);
            }
        }
        c = Step(c, Pack(s.ClassId, s.Mark));
        d = Step(d, s.CGroup);
        // A last bijective step per chain, each with its own constant, so the xor is not symmetric in the chains.
        return Finish(Step(a, 1) ^ Step(b, 2) ^ Step(c, 3) ^ Step(d, 4));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Pack(uint low, uint high) => low | (ulong)high << 32;

    /// <summary>Bijective in <paramref name="h"/> and in <paramref name="v"/> (xor, rotate, odd multiply): one multiply per step.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Step(ulong h, ulong v) => BitOperations.RotateLeft(h ^ v, 29) * 0xBF58476D1CE4E5B9;

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
