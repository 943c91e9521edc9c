namespace XtcpEpoll.Netlink.Parsing;

/// <summary>Maps an INET_DIAG_CONG name to xtcp2's CongestionAlgorithm enum (xtcp2 §5.1 prefixes).</summary>
public static class CongestionNames
{
    public static CongestionAlgorithm Map(ReadOnlySpan<byte> name)
    {
        if (name.StartsWith("cub"u8)) return CongestionAlgorithm.Cubic;
        if (name.StartsWith("bbr"u8))
        {
            if (name.Length > 3 && name[3] == (byte)'3') return CongestionAlgorithm.Bbr3;
            if (name.Length > 3 && name[3] == (byte)'2') return CongestionAlgorithm.Bbr2;
            return CongestionAlgorithm.Bbr1;
        }
        if (name.StartsWith("dct"u8)) return CongestionAlgorithm.Dctcp;
        if (name.StartsWith("veg"u8)) return CongestionAlgorithm.Vegas;
        // xtcp2 declares PRAGUE but never sets it; the name is unambiguous, so we do.
        if (name.StartsWith("prague"u8)) return CongestionAlgorithm.Prague;
        return CongestionAlgorithm.Unspecified;
    }
}
