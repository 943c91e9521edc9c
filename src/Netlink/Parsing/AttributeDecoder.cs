using System.Runtime.InteropServices;
using XtcpEpoll.Netlink.Native;
using static XtcpEpoll.Netlink.Parsing.Wire;

namespace XtcpEpoll.Netlink.Parsing;

/// <summary>
/// Decodes one INET_DIAG_* attribute payload into a ParsedSocket. Each known type checks its payload
/// holds its struct before reading; unknown types are skipped (return true, nothing set).
/// </summary>
public static unsafe class AttributeDecoder
{
    /// <summary>False when the payload is too short for the attribute's type.</summary>
    public static bool TryDecode(int type, ReadOnlySpan<byte> p, ref ParsedSocket s)
    {
        switch (type)
        {
            case InetDiagAttribute.MemInfo:
                if (p.Length < 16) return false;
                s.MemInfoRmem = U32(p, 0); s.MemInfoWmem = U32(p, 4); s.MemInfoFmem = U32(p, 8); s.MemInfoTmem = U32(p, 12);
                break;
            case InetDiagAttribute.Info:
                if (p.Length < 8) return false; // at least the u8 header fields
                TcpInfoDecoder.Decode(p, ref s.Tcp);
                s.TcpInfoLength = (ushort)Math.Min(p.Length, ushort.MaxValue);
                break;
            case InetDiagAttribute.VegasInfo:
                if (p.Length < 16) return false;
                s.VegasInfoEnabled = U32(p, 0); s.VegasInfoRttCnt = U32(p, 4); s.VegasInfoRtt = U32(p, 8); s.VegasInfoMinRtt = U32(p, 12);
                break;
            case InetDiagAttribute.Cong:
                if (p.Length < 1) return false;
                DecodeCongestion(p, ref s);
                break;
            case InetDiagAttribute.Tos:
                if (p.Length < 1) return false;
                s.TypeOfService = p[0];
                break;
            case InetDiagAttribute.TClass:
                if (p.Length < 1) return false;
                s.TrafficClass = p[0];
                break;
            case InetDiagAttribute.SkMemInfo:
                if (p.Length < 4) return false;
                DecodeSkMemInfo(p, ref s);
                break;
            case InetDiagAttribute.Shutdown:
                if (p.Length < 1) return false;
                s.ShutdownState = p[0];
                break;
            case InetDiagAttribute.DctcpInfo:
                if (p.Length < 16) return false;
                s.DctcpInfoEnabled = U16(p, 0); s.DctcpInfoCeState = U16(p, 2);
                s.DctcpInfoAlpha = U32(p, 4); s.DctcpInfoAbEcn = U32(p, 8); s.DctcpInfoAbTot = U32(p, 12);
                break;
            case InetDiagAttribute.BbrInfo:
                if (p.Length < 20) return false;
                s.BbrInfoBwLo = U32(p, 0); s.BbrInfoBwHi = U32(p, 4); s.BbrInfoMinRtt = U32(p, 8);
                s.BbrInfoPacingGain = U32(p, 12); s.BbrInfoCwndGain = U32(p, 16);
                break;
            case InetDiagAttribute.Mark:
                if (p.Length < 4) return false;
                s.Mark = U32(p, 0);
                break;
            case InetDiagAttribute.ClassId:
                if (p.Length < 4) return false;
                s.ClassId = U32(p, 0);
                break;
            case InetDiagAttribute.CgroupId:
                if (p.Length < 8) return false;
                s.CGroup = U64(p, 0);
                break;
            case InetDiagAttribute.SockOpt:
                if (p.Length < 2) return false;
                s.SockOpt = U16(p, 0);
                break;
            default:
                return true; // unknown or not wanted: skipped
        }
        s.Present |= (AttributeSet)(1u << type);
        return true;
    }

    private static void DecodeCongestion(ReadOnlySpan<byte> p, ref ParsedSocket s)
    {
        int nul = p.IndexOf((byte)0);
        var name = nul < 0 ? p : p.Slice(0, nul);
        if (name.Length > 16)
            name = name.Slice(0, 16); // TCP_CA_NAME_MAX is 16 including NUL; longer means garbage
        name.CopyTo(MemoryMarshal.CreateSpan(ref s.CongestionName[0], 16));
        s.CongestionNameLength = (byte)name.Length;
        s.CongestionAlgorithm = CongestionNames.Map(name);
    }

    /// <summary>Older kernels send fewer SK_MEMINFO entries; the missing ones stay zero.</summary>
    private static void DecodeSkMemInfo(ReadOnlySpan<byte> p, ref ParsedSocket s)
    {
        int count = Math.Min(p.Length / 4, SkMemInfoIndex.Count);
        if (count == SkMemInfoIndex.Count)
        {
            s.SkMemInfoRmemAlloc = U32(p, 0); s.SkMemInfoRcvBuf = U32(p, 4); s.SkMemInfoWmemAlloc = U32(p, 8);
            s.SkMemInfoSndBuf = U32(p, 12); s.SkMemInfoFwdAlloc = U32(p, 16); s.SkMemInfoWmemQueued = U32(p, 20);
            s.SkMemInfoOptmem = U32(p, 24); s.SkMemInfoBacklog = U32(p, 28); s.SkMemInfoDrops = U32(p, 32);
            return;
        }
        Span<uint> values = stackalloc uint[SkMemInfoIndex.Count];
        values.Clear();
        for (int i = 0; i < count; i++)
            values[i] = U32(p, i * 4);
        s.SkMemInfoRmemAlloc = values[0]; s.SkMemInfoRcvBuf = values[1]; s.SkMemInfoWmemAlloc = values[2];
        s.SkMemInfoSndBuf = values[3]; s.SkMemInfoFwdAlloc = values[4]; s.SkMemInfoWmemQueued = values[5];
        s.SkMemInfoOptmem = values[6]; s.SkMemInfoBacklog = values[7]; s.SkMemInfoDrops = values[8];
    }
}
