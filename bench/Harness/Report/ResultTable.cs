using System.Text;

namespace XtcpEpoll.Bench.Harness.Report;

/// <summary>A table printed aligned on stdout, saved as CSV and rendered as markdown for design/PERFORMANCE.md.</summary>
internal sealed class ResultTable(string title, params string[] columns)
{
    private readonly List<string[]> _rows = new();
    public string Title { get; } = title;

    public void Add(params string[] cells)
    {
        if (cells.Length != columns.Length) throw new ArgumentException($"row has {cells.Length} cells, table {columns.Length} columns");
        _rows.Add(cells);
    }

    /// <summary>A row (goal, measured, PASS/FAIL) of a goals table; a missed goal also goes into <paramref name="failures"/>.</summary>
    public void AddGoal(string goal, string measured, bool pass, List<string> failures)
    {
        Add(goal, measured, Fmt.Verdict(pass));
        if (!pass) failures.Add($"goal missed: {goal}: {measured}");
    }

    public void Print(TextWriter w)
    {
        var widths = columns.Select((c, i) => Math.Max(c.Length, _rows.Count == 0 ? 0 : _rows.Max(r => r[i].Length))).ToArray();
        w.WriteLine();
        w.WriteLine(Title);
        w.WriteLine(string.Join("  ", columns.Select((c, i) => c.PadLeft(widths[i]))));
        foreach (var r in _rows) w.WriteLine(string.Join("  ", r.Select((c, i) => c.PadLeft(widths[i]))));
    }

    public void WriteCsv(string path)
    {
        var sb = new StringBuilder();
        sb.AppendLine(string.Join(',', columns.Select(Csv)));
        foreach (var r in _rows) sb.AppendLine(string.Join(',', r.Select(Csv)));
        File.WriteAllText(path, sb.ToString());
    }

    public string Markdown()
    {
        var sb = new StringBuilder();
        sb.AppendLine("| " + string.Join(" | ", columns) + " |");
        sb.AppendLine("|" + string.Concat(columns.Select(_ => "---|")));
        foreach (var r in _rows) sb.AppendLine("| " + string.Join(" | ", r) + " |");
        return sb.ToString();
    }

    private static string Csv(string s) => s.Contains(',') || s.Contains('"') ? "\"" + s.Replace("\"", "\"\"") + "\"" : s;
}
