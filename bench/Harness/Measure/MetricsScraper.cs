using System.Globalization;

namespace XtcpEpoll.Bench.Harness.Measure;

/// <summary>Prometheus text exposition parsed into "name{labels}" → value.</summary>
internal sealed class MetricsSnapshot
{
    private readonly Dictionary<string, double> _values;
    public MetricsSnapshot(Dictionary<string, double> values, long atNs) { _values = values; AtNs = atNs; }
    public long AtNs { get; }
    public IReadOnlyDictionary<string, double> Values => _values;

    /// <summary>A series by exact name, optionally with one label (name{k="v"}); NaN when absent.</summary>
    public double Get(string name, string? label = null, string? value = null)
    {
        if (label == null) return _values.TryGetValue(name, out var v) ? v : double.NaN;
        // A label picks a subset of the series (xtcp_polls_total{outcome} is split by trigger too): their sum.
        string needle = $"{label}=\"{value}\"";
        double sum = double.NaN;
        foreach (var (key, v) in _values)
            if (key.StartsWith(name + "{", StringComparison.Ordinal) && key.Contains(needle, StringComparison.Ordinal)) sum = double.IsNaN(sum) ? v : sum + v;
        return sum;
    }

    public double GetOrZero(string name, string? label = null, string? value = null)
    {
        double v = Get(name, label, value);
        return double.IsNaN(v) ? 0 : v;
    }

    /// <summary>Cumulative histogram buckets (le → count) of one histogram.</summary>
    public SortedList<double, double> Buckets(string histogram)
    {
        var result = new SortedList<double, double>();
        string prefix = histogram + "_bucket{";
        foreach (var (key, v) in _values)
        {
            if (!key.StartsWith(prefix, StringComparison.Ordinal)) continue;
            int le = key.IndexOf("le=\"", StringComparison.Ordinal);
            if (le < 0) continue;
            string bound = key[(le + 4)..key.IndexOf('"', le + 4)];
            double b = bound == "+Inf" ? double.PositiveInfinity : double.Parse(bound, CultureInfo.InvariantCulture);
            result[b] = v;
        }
        return result;
    }

    public static MetricsSnapshot Parse(string text, long atNs)
    {
        var values = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] == '#') continue;
            int split = line.LastIndexOf(' ');
            if (split <= 0) continue;
            if (double.TryParse(line[(split + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out double v))
                values[line[..split]] = v;
        }
        return new MetricsSnapshot(values, atNs);
    }
}

internal sealed class MetricsScraper : IDisposable
{
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(10) };
    private readonly Uri _uri;

    public MetricsScraper(int port) => _uri = new Uri($"http://127.0.0.1:{port}/metrics");

    public async Task<MetricsSnapshot?> TryScrapeAsync(CancellationToken ct)
    {
        try
        {
            string text = await _http.GetStringAsync(_uri, ct);
            return MetricsSnapshot.Parse(text, Infra.Clock.UnixNs());
        }
        catch (HttpRequestException) { return null; }
        catch (TaskCanceledException) when (!ct.IsCancellationRequested) { return null; }
    }

    public void Dispose() => _http.Dispose();
}
