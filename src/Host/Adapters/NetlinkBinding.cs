namespace XtcpEpoll.Host.Adapters;

/// <summary>
/// Thin seam over the Netlink area's name parsers (AttributeSelection, TcpStates), so the CLI validates
/// --attributes and --states with exactly the rules the request builder uses.
/// </summary>
public static class NetlinkBinding
{
    // TEMPORARY until branch netlink lands: only the keywords.
    public static bool TryParseAttributes(string text, out byte idiagExt, out string error)
    {
        error = "";
        switch (text.Trim())
        {
            case "default": idiagExt = 0xFE; return true;
            case "all": idiagExt = 0xFF; return true;
            default:
                idiagExt = 0;
                error = "allowed: default, all";
                return false;
        }
    }

    public static bool TryParseStates(string text, out uint mask, out string error)
    {
        error = "";
        if (text.Trim() == "all") { mask = 0xFFF; return true; }
        mask = 0;
        error = "allowed: all";
        return false;
    }
}
