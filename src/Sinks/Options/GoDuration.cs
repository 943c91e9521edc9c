using System.Globalization;
using System.Text;

namespace XtcpEpoll.Sinks.Options;

/// <summary>
/// Go's time.ParseDuration syntax ("10s", "500ms", "1m30s", "1.5h", "250us"), so xtcp2 operators can keep
/// their values. Units: ns, us (or µs), ms, s, m, h. A bare "0" is zero. No sign: durations here are
/// periods and deadlines, a negative one is always a mistake.
/// </summary>
public static class GoDuration
{
    public const string Allowed = "a duration such as 500ms, 10s, 1m30s or 2h";

    public static bool TryParse(string text, out TimeSpan value)
    {
        value = TimeSpan.Zero;
        var s = text.Trim();
        if (s.Length == 0) return false;
        if (s == "0") return true;

        decimal totalNs = 0;
        var i = 0;
        while (i < s.Length)
        {
            var numberStart = i;
            while (i < s.Length && (char.IsAsciiDigit(s[i]) || s[i] == '.')) i++;
            if (i == numberStart) return false;
            if (!decimal.TryParse(s.AsSpan(numberStart, i - numberStart), NumberStyles.AllowDecimalPoint,
                    CultureInfo.InvariantCulture, out var number)) return false;

            var unitStart = i;
            while (i < s.Length && !char.IsAsciiDigit(s[i]) && s[i] != '.') i++;
            var nsPerUnit = UnitNanoseconds(s.AsSpan(unitStart, i - unitStart));
            if (nsPerUnit == 0) return false;
            totalNs += number * nsPerUnit;
            if (totalNs > (decimal)TimeSpan.MaxValue.Ticks * 100) return false;
        }
        value = TimeSpan.FromTicks((long)(totalNs / 100));
        return true;
    }

    /// <summary>Shortest Go-style text: 0s, 500ms, 10s, 1m30s, 2h0m0s is written 2h.</summary>
    public static string Format(TimeSpan value)
    {
        if (value == TimeSpan.Zero) return "0s";
        if (value < TimeSpan.FromSeconds(1))
        {
            var ms = value.TotalMilliseconds;
            return ms == Math.Floor(ms)
                ? ms.ToString(CultureInfo.InvariantCulture) + "ms"
                : (value.Ticks / 10.0).ToString(CultureInfo.InvariantCulture) + "us";
        }
        var sb = new StringBuilder();
        var hours = (long)value.TotalHours;
        if (hours > 0) sb.Append(hours).Append('h');
        if (value.Minutes > 0) sb.Append(value.Minutes).Append('m');
        var seconds = value.Seconds + value.Ticks % TimeSpan.TicksPerSecond / (double)TimeSpan.TicksPerSecond;
        if (seconds > 0) sb.Append(seconds.ToString(CultureInfo.InvariantCulture)).Append('s');
        return sb.ToString();
    }

    private static long UnitNanoseconds(ReadOnlySpan<char> unit) => unit switch
    {
        "ns" => 1,
        "us" or "µs" or "μs" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        _ => 0,
    };
}
