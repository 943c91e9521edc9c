using XtcpEpoll.Netlink.Requests;

namespace XtcpEpoll.Host.Adapters;

/// <summary>
/// Thin seam over the Netlink area's name parsers (AttributeSelection, TcpStates), so the CLI validates
/// --attributes and --states with exactly the rules the request builder uses.
/// </summary>
public static class NetlinkBinding
{
    public static bool TryParseAttributes(string text, out byte idiagExt, out string error)
    {
        var ok = AttributeSelection.TryParse(text, out var selection, out error);
        idiagExt = ok ? selection.IdiagExt : (byte)0;
        return ok;
    }

    public static bool TryParseStates(string text, out uint mask, out string error)
        => TcpStates.TryParse(text, out mask, out error);
}
