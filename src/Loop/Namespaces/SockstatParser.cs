using XtcpEpoll.Netlink.Parsing;

namespace XtcpEpoll.Loop.Namespaces;

/// <summary>
/// Reads the one number the loop needs from /proc/net/sockstat ("TCP: inuse N ...") and /proc/net/sockstat6
/// ("TCP6: inuse N"): the namespace's hashed TCP sockets of that family (listeners and connections, without
/// TIME-WAIT, which is "tw" on the same line, and without request sockets). Pure; no allocation.
/// </summary>
internal static class SockstatParser
{
    /// <summary>The N of the line that starts with <paramref name="prefix"/> (e.g. "TCP: inuse "), or -1 if absent or malformed.</summary>
    public static int InUse(ReadOnlySpan<byte> text, ReadOnlySpan<byte> prefix)
    {
        while (!text.IsEmpty)
        {
            int end = text.IndexOf((byte)'\n');
            var line = end < 0 ? text : text[..end];
            if (line.StartsWith(prefix)) return Number(line[prefix.Length..]);
            text = end < 0 ? default : text[(end + 1)..];
        }
        return -1;
    }

    public static ReadOnlySpan<byte> Inet => "TCP: inuse "u8;
    public static ReadOnlySpan<byte> Inet6 => "TCP6: inuse "u8;

    /// <summary>Both files' counts; false if either number is missing or malformed.</summary>
    public static bool TryParse(ReadOnlySpan<byte> sockstat, ReadOnlySpan<byte> sockstat6, out TcpSocketCount count)
    {
        count = new TcpSocketCount(InUse(sockstat, Inet), InUse(sockstat6, Inet6));
        return count.Inet >= 0 && count.Inet6 >= 0;
    }

    private static int Number(ReadOnlySpan<byte> digits)
    {
        long value = 0;
        int i = 0;
        for (; i < digits.Length && digits[i] is >= (byte)'0' and <= (byte)'9'; i++)
        {
            value = value * 10 + (digits[i] - '0');
            if (value > int.MaxValue) return -1;
        }
        // A number ends the line or is followed by a space ("inuse 5 orphan 0 ..."); anything else is not sockstat.
        if (i == 0 || (i < digits.Length && digits[i] != (byte)' ')) return -1;
        return (int)value;
    }
}
