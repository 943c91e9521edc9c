using System.Globalization;

namespace XtcpEpoll.Bench.Harness.Report;

/// <summary>Number formatting for tables (invariant culture; NaN shows as "n/a").</summary>
internal static class Fmt
{
    public static string Ms(double seconds) => double.IsNaN(seconds) ? "n/a" : (seconds * 1000).ToString("F1", CultureInfo.InvariantCulture);
    public static string Us(double seconds) => double.IsNaN(seconds) ? "n/a" : (seconds * 1e6).ToString("F2", CultureInfo.InvariantCulture);
    public static string Sec(double seconds) => double.IsNaN(seconds) ? "n/a" : seconds.ToString("F2", CultureInfo.InvariantCulture);
    public static string Num(double v, int decimals = 0) => !double.IsFinite(v) ? "n/a" : v.ToString("F" + decimals, CultureInfo.InvariantCulture);
    public static string Mb(long kb) => (kb / 1024.0).ToString("F1", CultureInfo.InvariantCulture);
    public static string Pct(double ratio, int decimals = 0) => !double.IsFinite(ratio) ? "n/a" : (ratio * 100).ToString("F" + decimals, CultureInfo.InvariantCulture) + "%";

    /// <summary>PASS / FAIL, or n/a when the goal does not apply or the value is unknown.</summary>
    public static string Verdict(bool? pass) => pass switch { true => "PASS", false => "FAIL", null => "n/a" };
}
