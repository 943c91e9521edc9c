using System.Globalization;

namespace XtcpEpoll.Bench.Harness.Infra;

/// <summary>`--name value` / `--flag` options after the verb; unknown names are an error naming the option.</summary>
internal sealed class HarnessOptions
{
    private readonly Dictionary<string, string?> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _used = new(StringComparer.Ordinal);

    public HarnessOptions(IEnumerable<string> args)
    {
        var list = args.ToList();
        for (int i = 0; i < list.Count; i++)
        {
            string a = list[i];
            if (!a.StartsWith("--", StringComparison.Ordinal)) throw new ArgumentException($"unexpected argument '{a}'");
            string name = a[2..];
            string? value = null;
            int eq = name.IndexOf('=');
            if (eq >= 0) { value = name[(eq + 1)..]; name = name[..eq]; }
            else if (i + 1 < list.Count && !list[i + 1].StartsWith("--", StringComparison.Ordinal)) value = list[++i];
            _values[name] = value;
        }
    }

    public string? String(string name, string? fallback = null)
    {
        _used.Add(name);
        return _values.TryGetValue(name, out var v) ? v : fallback;
    }

    public bool Flag(string name) { _used.Add(name); return _values.ContainsKey(name); }

    public int Int(string name, int fallback)
    {
        var s = String(name);
        if (s == null) return fallback;
        return int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) && v >= 0
            ? v : throw new ArgumentException($"--{name} '{s}': expected a non-negative integer");
    }

    public int[] IntList(string name, int[] fallback)
    {
        var s = String(name);
        if (s == null) return fallback;
        try { return s.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(x => int.Parse(x, CultureInfo.InvariantCulture)).ToArray(); }
        catch (FormatException) { throw new ArgumentException($"--{name} '{s}': expected a comma-separated list of integers"); }
    }

    public TimeSpan Duration(string name, TimeSpan fallback)
    {
        var s = String(name);
        if (s == null) return fallback;
        return TryParseDuration(s, out var d) ? d : throw new ArgumentException($"--{name} '{s}': expected a duration like 500ms, 60s, 10m");
    }

    /// <summary>Fails on options nobody asked for (typos would otherwise silently use defaults).</summary>
    public void RejectUnknown()
    {
        foreach (var k in _values.Keys)
            if (!_used.Contains(k)) throw new ArgumentException($"unknown option --{k}");
    }

    public static bool TryParseDuration(string s, out TimeSpan d)
    {
        d = default;
        (string unit, double scale)[] units = { ("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000) };
        foreach (var (unit, scale) in units)
        {
            if (s.EndsWith(unit, StringComparison.Ordinal) &&
                double.TryParse(s[..^unit.Length], NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && v >= 0)
            {
                d = TimeSpan.FromMilliseconds(v * scale);
                return true;
            }
        }
        return false;
    }

    /// <summary>Formats a duration the way the collector's CLI reads it (e.g. 1500ms, 2s).</summary>
    public static string Format(TimeSpan d) =>
        d.TotalMilliseconds % 1000 == 0 ? $"{(long)d.TotalSeconds}s" : $"{(long)d.TotalMilliseconds}ms";
}
