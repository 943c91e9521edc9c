using System.Globalization;
using System.Text.RegularExpressions;
using XtcpEpoll.Bench.Harness.Infra;

namespace XtcpEpoll.Bench.Harness.Collector;

/// <summary>
/// Defaults of the collector binary under test, read from its `--help` ("[default "1m", env ...]"), so a verb
/// that measures "the defaults" follows the binary rather than a copy that drifts.
/// </summary>
internal static partial class CollectorDefaults
{
    /// <summary>The default of <paramref name="option"/> (e.g. "--walk-interval") as a Go-style duration, or null if unreadable.</summary>
    public static TimeSpan? Duration(string binary, string option)
    {
        var (exit, stdout, _) = ChildCommand.Run(binary, "--help");
        if (exit != 0) return null;
        foreach (var line in stdout.Split('\n'))
        {
            var m = DefaultOf().Match(line);
            if (m.Success && m.Groups[1].Value == option) return ParseGo(m.Groups[2].Value);
        }
        return null;
    }

    /// <summary>A Go duration such as 1m30s, 10s, 500ms, 2h (sums of number-unit parts); null if malformed.</summary>
    public static TimeSpan? ParseGo(string text)
    {
        var parts = GoPart().Matches(text);
        if (parts.Count == 0 || string.Concat(parts.Select(p => p.Value)) != text) return null;
        var total = TimeSpan.Zero;
        foreach (Match p in parts)
        {
            double v = double.Parse(p.Groups[1].Value, CultureInfo.InvariantCulture);
            total += p.Groups[2].Value switch
            {
                "h" => TimeSpan.FromHours(v), "m" => TimeSpan.FromMinutes(v), "s" => TimeSpan.FromSeconds(v),
                "ms" => TimeSpan.FromMilliseconds(v), "us" or "µs" => TimeSpan.FromMicroseconds(v), _ => TimeSpan.FromTicks((long)(v / 100)),
            };
        }
        return total;
    }

    [GeneratedRegex(@"^\s*(--[a-z-]+)\s.*\[default ""([^""]*)""")]
    private static partial Regex DefaultOf();

    [GeneratedRegex(@"([0-9]+(?:\.[0-9]+)?)(h|ms|us|µs|ns|m|s)")]
    private static partial Regex GoPart();
}
