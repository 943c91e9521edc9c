using XtcpEpoll.Netlink.Native;

namespace XtcpEpoll.Netlink.Requests;

/// <summary>
/// TCP state names (as ss spells them) ↔ the idiag_states bitmask (bit = 1 &lt;&lt; state).
/// </summary>
public static class TcpStates
{
    /// <summary>Name of each state by number; index 0 is unused by TCP.</summary>
    public static readonly string[] Names =
    [
        "unknown", "established", "syn-sent", "syn-recv", "fin-wait-1", "fin-wait-2", "time-wait", "close",
        "close-wait", "last-ack", "listen", "closing", "new-syn-recv", "bound-inactive",
    ];

    /// <summary>Bits 0..13 (0x3FFF), as xtcp2 sends it; bit 0 is unused and harmless.</summary>
    public const uint All = (1u << 14) - 1;

    public const uint Listen = 1u << TcpState.Listen;
    public const uint BoundInactive = 1u << TcpState.BoundInactive;

    /// <summary>
    /// States whose sockets the kernel finds by walking host-wide tables whatever the namespace: LISTEN
    /// (the listening hash) and BOUND_INACTIVE (the bind hash: every bound socket of the host).
    /// </summary>
    public const uint InHostWideTables = Listen | BoundInactive;

    /// <summary>
    /// Every state but BOUND_INACTIVE (0x1FFF): what `ss -a` shows (ss needs -B for bound-inactive sockets).
    /// Bound-but-inactive sockets (bound, neither listening nor connected: no TCP state worth a record) are
    /// found by walking the kernel's host-wide bind table in every namespace's dump, the costliest walk there is
    /// (design/PERFORMANCE.md, "Figures behind code choices"); they are asked for by name ("bound-inactive" or "all").
    /// </summary>
    public const uint Default = All & ~BoundInactive;

    /// <summary>The state's name, or its number as text when out of range.</summary>
    public static string Name(byte state) => state < Names.Length ? Names[state] : state.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>
    /// Parses a comma-separated list of state names, "default" or "all" (case-insensitive). Null or blank
    /// means default.
    /// On failure <paramref name="error"/> is one line naming the bad entry and the allowed names.
    /// </summary>
    public static bool TryParse(string? text, out uint mask, out string error)
    {
        mask = Default;
        error = "";
        if (string.IsNullOrWhiteSpace(text))
            return true;
        uint result = 0;
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries))
        {
            if (part.Length == 0)
                continue;
            if (part.Equals("all", StringComparison.OrdinalIgnoreCase)) { result |= All; continue; }
            if (part.Equals("default", StringComparison.OrdinalIgnoreCase)) { result |= Default; continue; }
            int state = Array.FindIndex(Names, 1, n => n.Equals(part, StringComparison.OrdinalIgnoreCase));
            if (state < 0)
            {
                error = $"unknown TCP state '{part}'; allowed: default, all, {string.Join(", ", Names, 1, Names.Length - 1)}";
                return false;
            }
            result |= 1u << state;
        }
        if (result == 0)
        {
            error = "no TCP state selected; allowed: default, all, " + string.Join(", ", Names, 1, Names.Length - 1);
            return false;
        }
        mask = result;
        return true;
    }
}
