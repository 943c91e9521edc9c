using System.Globalization;
using System.Text;

namespace XtcpEpoll.Bench.Harness.Report;

/// <summary>
/// Hand-written SVG: OS threads (left axis, log) and poll duration p50 (right axis, ms, log) versus namespaces (log),
/// with xtcp2's modelled thread count (namespaces x 5, capped at its 2,000-thread crash) for contrast.
/// </summary>
internal static class ScaleChart
{
    private const double W = 720, H = 420, L = 70, R = 70, T = 40, B = 60;

    public static void Write(string path, IReadOnlyList<(int Namespaces, int Threads, double PollP50Ms)> points, string caption)
    {
        if (points.Count == 0) return;
        double xMin = 1, xMax = Math.Max(10, points.Max(p => p.Namespaces));
        double tMax = 10_000; // threads axis: 1 .. 10,000 (log) so xtcp2's line fits
        var durations = points.Where(p => !double.IsNaN(p.PollP50Ms) && p.PollP50Ms > 0).Select(p => p.PollP50Ms).DefaultIfEmpty(1).ToList();
        double dMin = Math.Pow(10, Math.Floor(Math.Log10(durations.Min())));
        double dMax = Math.Pow(10, Math.Ceiling(Math.Log10(durations.Max())));
        if (dMax <= dMin) dMax = dMin * 10;
        double X(double n) => L + (Math.Log10(Math.Max(n, xMin)) - Math.Log10(xMin)) / (Math.Log10(xMax) - Math.Log10(xMin)) * (W - L - R);
        double YT(double t) => H - B - Math.Log10(Math.Max(t, 1)) / Math.Log10(tMax) * (H - T - B);
        double YD(double ms) => H - B - (Math.Log10(Math.Max(ms, dMin)) - Math.Log10(dMin)) / (Math.Log10(dMax) - Math.Log10(dMin)) * (H - T - B);
        string F(double v) => v.ToString("F1", CultureInfo.InvariantCulture);

        var s = new StringBuilder();
        s.AppendLine($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" viewBox=\"0 0 {W} {H}\" font-family=\"sans-serif\" font-size=\"12\">");
        s.AppendLine($"<rect width=\"{W}\" height=\"{H}\" fill=\"white\"/>");
        s.AppendLine($"<text x=\"{W / 2}\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">{Escape(caption)}</text>");
        // Axes and grid.
        s.AppendLine($"<line x1=\"{L}\" y1=\"{H - B}\" x2=\"{W - R}\" y2=\"{H - B}\" stroke=\"black\"/>");
        s.AppendLine($"<line x1=\"{L}\" y1=\"{T}\" x2=\"{L}\" y2=\"{H - B}\" stroke=\"black\"/>");
        s.AppendLine($"<line x1=\"{W - R}\" y1=\"{T}\" x2=\"{W - R}\" y2=\"{H - B}\" stroke=\"black\"/>");
        for (double n = 1; n <= xMax * 1.0001; n *= 10)
        {
            s.AppendLine($"<line x1=\"{F(X(n))}\" y1=\"{T}\" x2=\"{F(X(n))}\" y2=\"{H - B}\" stroke=\"#ddd\"/>");
            s.AppendLine($"<text x=\"{F(X(n))}\" y=\"{H - B + 16}\" text-anchor=\"middle\">{n:0}</text>");
        }
        foreach (var p in points) s.AppendLine($"<text x=\"{F(X(p.Namespaces))}\" y=\"{H - B + 30}\" text-anchor=\"middle\" fill=\"#666\" font-size=\"10\">{p.Namespaces}</text>");
        s.AppendLine($"<text x=\"{(L + W - R) / 2}\" y=\"{H - 12}\" text-anchor=\"middle\">network namespaces (log scale)</text>");
        for (double t = 1; t <= tMax; t *= 10)
            s.AppendLine($"<text x=\"{L - 6}\" y=\"{F(YT(t) + 4)}\" text-anchor=\"end\" fill=\"#1f5fbf\">{t:0}</text>");
        s.AppendLine($"<text transform=\"translate(18,{(T + H - B) / 2}) rotate(-90)\" text-anchor=\"middle\" fill=\"#1f5fbf\">OS threads (log)</text>");
        for (double ms = dMin; ms <= dMax * 1.0001; ms *= 10)
            s.AppendLine($"<text x=\"{W - R + 6}\" y=\"{F(YD(ms) + 4)}\" fill=\"#c0392b\">{ms.ToString("0.###", CultureInfo.InvariantCulture)}</text>");
        s.AppendLine($"<text transform=\"translate({W - 14},{(T + H - B) / 2}) rotate(90)\" text-anchor=\"middle\" fill=\"#c0392b\">poll duration p50 (ms, log)</text>");
        // xtcp2 model: namespaces x 5 threads, crash at 2,000.
        var model = new List<string>();
        for (double n = 1; n <= xMax; n *= 1.25) model.Add($"{F(X(n))},{F(YT(Math.Min(Anchors.Xtcp2Threads((int)Math.Round(n)), 2000)))}");
        s.AppendLine($"<polyline points=\"{string.Join(' ', model)}\" fill=\"none\" stroke=\"#999\" stroke-dasharray=\"5,4\"/>");
        s.AppendLine($"<line x1=\"{L}\" y1=\"{F(YT(2000))}\" x2=\"{W - R}\" y2=\"{F(YT(2000))}\" stroke=\"#999\" stroke-dasharray=\"1,3\"/>");
        s.AppendLine($"<text x=\"{L + 6}\" y=\"{F(YT(2000) - 6)}\" fill=\"#777\" font-size=\"11\">xtcp2: namespaces x 5 threads, crashes at its 2,000-thread cap</text>");
        // Our series.
        s.AppendLine($"<polyline points=\"{string.Join(' ', points.Select(p => $"{F(X(p.Namespaces))},{F(YT(p.Threads))}"))}\" fill=\"none\" stroke=\"#1f5fbf\" stroke-width=\"2\"/>");
        foreach (var p in points)
            s.AppendLine($"<circle cx=\"{F(X(p.Namespaces))}\" cy=\"{F(YT(p.Threads))}\" r=\"4\" fill=\"#1f5fbf\"><title>{p.Namespaces} ns: {p.Threads} threads</title></circle>");
        var d = points.Where(p => !double.IsNaN(p.PollP50Ms)).ToList();
        s.AppendLine($"<polyline points=\"{string.Join(' ', d.Select(p => $"{F(X(p.Namespaces))},{F(YD(p.PollP50Ms))}"))}\" fill=\"none\" stroke=\"#c0392b\" stroke-width=\"2\"/>");
        foreach (var p in d)
            s.AppendLine($"<rect x=\"{F(X(p.Namespaces) - 4)}\" y=\"{F(YD(p.PollP50Ms) - 4)}\" width=\"8\" height=\"8\" fill=\"#c0392b\"><title>{p.Namespaces} ns: {p.PollP50Ms:F1} ms</title></rect>");
        // Legend.
        s.AppendLine($"<rect x=\"{L + 10}\" y=\"{T + 8}\" width=\"250\" height=\"52\" fill=\"white\" stroke=\"#ccc\"/>");
        s.AppendLine($"<line x1=\"{L + 18}\" y1=\"{T + 22}\" x2=\"{L + 42}\" y2=\"{T + 22}\" stroke=\"#1f5fbf\" stroke-width=\"2\"/><text x=\"{L + 48}\" y=\"{T + 26}\">xtcp-epoll OS threads</text>");
        s.AppendLine($"<line x1=\"{L + 18}\" y1=\"{T + 42}\" x2=\"{L + 42}\" y2=\"{T + 42}\" stroke=\"#c0392b\" stroke-width=\"2\"/><text x=\"{L + 48}\" y=\"{T + 46}\">xtcp-epoll poll duration p50</text>");
        s.AppendLine("</svg>");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, s.ToString());
    }

    private static string Escape(string s) => s.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;");
}
