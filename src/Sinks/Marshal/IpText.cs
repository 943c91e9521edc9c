namespace XtcpEpoll.Sinks.Marshal;

/// <summary>
/// Formats an address (4 or 16 network-order bytes) as text into a span, without allocating:
/// dotted quad for IPv4, RFC 5952 for IPv6 (lower-case hex, no leading zeros, the longest run of two
/// or more zero groups — the first on a tie — shortened to "::", IPv4-mapped as ::ffff:a.b.c.d).
/// </summary>
public static class IpText
{
    /// <summary>Longest text: 45 bytes (ffff:...:255.255.255.255 forms stay below).</summary>
    public const int MaxLength = 46;

    /// <summary>
    /// Formats a record's raw 16-byte address field by its family: AF_INET (2) prints the first 4 bytes as a
    /// dotted quad, anything else the 16 bytes as IPv6.
    /// </summary>
    public static int Format(byte family, ReadOnlySpan<byte> raw16, Span<byte> destination)
        => Format(family == AfInet ? raw16.Slice(0, 4) : raw16, destination);

    private const byte AfInet = 2;

    public static int Format(ReadOnlySpan<byte> address, Span<byte> destination)
    {
        if (address.Length == 4)
            return FormatV4(address, destination, 0);
        if (address.Length != 16)
            return 0;

        var p = 0;
        if (IsV4Mapped(address))
        {
            "::ffff:"u8.CopyTo(destination);
            return FormatV4(address.Slice(12), destination, 7);
        }

        Span<ushort> groups = stackalloc ushort[8];
        for (var i = 0; i < 8; i++)
            groups[i] = (ushort)(address[2 * i] << 8 | address[2 * i + 1]);

        // Longest run of zero groups, length >= 2 (RFC 5952 4.2.2: a single zero group is not shortened).
        int bestStart = -1, bestLength = 1;
        for (var i = 0; i < 8;)
        {
            if (groups[i] != 0) { i++; continue; }
            var start = i;
            while (i < 8 && groups[i] == 0) i++;
            if (i - start > bestLength) { bestStart = start; bestLength = i - start; }
        }

        for (var i = 0; i < 8; i++)
        {
            if (i == bestStart)
            {
                destination[p++] = (byte)':';
                if (i == 0) destination[p++] = (byte)':';
                i += bestLength - 1;
                continue;
            }
            p = WriteHex(groups[i], destination, p);
            if (i < 7) destination[p++] = (byte)':';
        }
        return p;
    }

    private static bool IsV4Mapped(ReadOnlySpan<byte> a)
    {
        for (var i = 0; i < 10; i++)
            if (a[i] != 0) return false;
        return a[10] == 0xff && a[11] == 0xff;
    }

    private static int FormatV4(ReadOnlySpan<byte> a, Span<byte> d, int p)
    {
        for (var i = 0; i < 4; i++)
        {
            if (i > 0) d[p++] = (byte)'.';
            int v = a[i];
            if (v >= 100) { d[p++] = (byte)('0' + v / 100); v %= 100; d[p++] = (byte)('0' + v / 10); d[p++] = (byte)('0' + v % 10); }
            else if (v >= 10) { d[p++] = (byte)('0' + v / 10); d[p++] = (byte)('0' + v % 10); }
            else d[p++] = (byte)('0' + v);
        }
        return p;
    }

    private static int WriteHex(ushort value, Span<byte> d, int p)
    {
        var started = false;
        for (var shift = 12; shift >= 0; shift -= 4)
        {
            var nibble = value >> shift & 0xf;
            if (nibble == 0 && !started && shift != 0) continue;
            started = true;
            d[p++] = (byte)"0123456789abcdef"[nibble];
        }
        return p;
    }
}
