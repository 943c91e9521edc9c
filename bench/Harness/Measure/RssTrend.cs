namespace XtcpEpoll.Bench.Harness.Measure;

/// <summary>Least-squares slope of RSS over time (kB per hour) and the median, for "no upward trend".</summary>
internal static class RssTrend
{
    public static (double SlopeKbPerHour, double MedianKb) LastHalf(IReadOnlyList<ProcSample> samples)
    {
        if (samples.Count < 2) return (double.NaN, double.NaN);
        double t0 = samples[0].AtNs, sx = 0, sy = 0, sxx = 0, sxy = 0;
        foreach (var s in samples)
        {
            double x = (s.AtNs - t0) / 3.6e12, y = s.RssKb;
            sx += x; sy += y; sxx += x * x; sxy += x * y;
        }
        int n = samples.Count;
        double denominator = n * sxx - sx * sx;
        double slope = denominator == 0 ? 0 : (n * sxy - sx * sy) / denominator;
        var sorted = samples.Select(s => s.RssKb).OrderBy(v => v).ToList();
        return (slope, sorted[n / 2]);
    }
}
