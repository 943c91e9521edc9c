using XtcpEpoll.Netlink.Parsing;

namespace XtcpEpoll.Netlink.Requests;

/// <summary>
/// Which INET_DIAG attributes to ask for, parsed from names ("info,cong,skmem", "default", "all",
/// "none"), and the idiag_ext request byte they imply (xtcp2 §1.4/§5.2: bit N-1 per extension 1..8;
/// the VEGASINFO bit also whenever vegas, dctcp or bbr is wanted, because the kernel emits all three
/// "cc info" attributes under that one bit).
/// </summary>
public readonly record struct AttributeSelection(AttributeSet Enabled)
{
    /// <summary>Names accepted, in the order shown in help/error text.</summary>
    public static readonly string[] Names =
        ["meminfo", "info", "vegas", "cong", "tos", "tc", "skmem", "shut", "dctcp", "bbr", "classid", "cgroup", "sockopt", "mark"];

    private static readonly AttributeSet[] NameFlags =
    [
        AttributeSet.MemInfo, AttributeSet.Info, AttributeSet.VegasInfo, AttributeSet.Cong, AttributeSet.Tos,
        AttributeSet.TClass, AttributeSet.SkMemInfo, AttributeSet.Shutdown, AttributeSet.DctcpInfo, AttributeSet.BbrInfo,
        AttributeSet.ClassId, AttributeSet.CgroupId, AttributeSet.SockOpt, AttributeSet.Mark,
    ];

    /// <summary>Every attribute.</summary>
    public static AttributeSelection All { get; } = new(AllFlags());

    /// <summary>Everything but MEMINFO (it duplicates SKMEMINFO), as xtcp2's "default".</summary>
    public static AttributeSelection Default { get; } = new(AllFlags() & ~AttributeSet.MemInfo);

    public bool IsEnabled(AttributeSet attribute) => (Enabled & attribute) != 0;

    /// <summary>
    /// The idiag_ext byte: Default → 0xFE, All → 0xFF, "meminfo,skmem" → 0x41. CLASS_ID shares the
    /// TCLASS bit in the kernel (its own bit 16 does not fit the byte), so "classid" sets bit 5 too.
    /// SHUTDOWN, MARK, CGROUP_ID and SOCKOPT are sent without a request bit.
    /// </summary>
    public byte IdiagExt
    {
        get
        {
            int ext = 0;
            for (int id = 1; id <= 8; id++)
            {
                if ((Enabled & (AttributeSet)(1u << id)) != 0)
                    ext |= 1 << (id - 1);
            }
            if ((Enabled & (AttributeSet.VegasInfo | AttributeSet.DctcpInfo | AttributeSet.BbrInfo)) != 0)
                ext |= 1 << 2;
            if ((Enabled & AttributeSet.ClassId) != 0)
                ext |= 1 << 5;
            return (byte)ext;
        }
    }

    /// <summary>
    /// Parses "default", "all", "none" or a comma-separated list of names (case-insensitive, spaces
    /// allowed). Null or blank means "default". On failure <paramref name="error"/> is a one-line message
    /// naming the bad entry and the allowed names.
    /// </summary>
    public static bool TryParse(string? text, out AttributeSelection selection, out string error)
    {
        selection = Default;
        error = "";
        if (string.IsNullOrWhiteSpace(text))
            return true;
        var enabled = AttributeSet.None;
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries))
        {
            if (part.Length == 0)
                continue;
            if (part.Equals("default", StringComparison.OrdinalIgnoreCase)) { enabled |= Default.Enabled; continue; }
            if (part.Equals("all", StringComparison.OrdinalIgnoreCase)) { enabled |= All.Enabled; continue; }
            if (part.Equals("none", StringComparison.OrdinalIgnoreCase)) continue;
            int index = Array.FindIndex(Names, n => n.Equals(part, StringComparison.OrdinalIgnoreCase));
            if (index < 0)
            {
                error = $"unknown attribute '{part}'; allowed: default, all, none, {string.Join(", ", Names)}";
                return false;
            }
            enabled |= NameFlags[index];
        }
        selection = new AttributeSelection(enabled);
        return true;
    }

    /// <summary>Comma-separated names of the enabled attributes (for logs and help).</summary>
    public override string ToString()
    {
        var parts = new List<string>();
        for (int i = 0; i < Names.Length; i++)
        {
            if ((Enabled & NameFlags[i]) != 0)
                parts.Add(Names[i]);
        }
        return parts.Count == 0 ? "none" : string.Join(",", parts);
    }

    private static AttributeSet AllFlags()
    {
        var all = AttributeSet.None;
        foreach (var flag in NameFlags)
            all |= flag;
        return all;
    }
}
