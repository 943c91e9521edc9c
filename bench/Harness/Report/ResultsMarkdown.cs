using System.Text;

namespace XtcpEpoll.Bench.Harness.Report;

/// <summary>
/// Writes one verb's results as a markdown section (command line, machine, table, notes) into OUT/VERB.md,
/// ready to paste into design/PERFORMANCE.md.
/// </summary>
internal static class ResultsMarkdown
{
    public static string Write(string outDir, string verb, string commandLine, IEnumerable<ResultTable> tables, IEnumerable<string> notes)
    {
        var sb = new StringBuilder();
        sb.AppendLine($"### `{verb}` — {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
        sb.AppendLine();
        sb.AppendLine($"Machine: {Environment.ProcessorCount} cores, kernel {Environment.OSVersion.Version}, {MemTotal()}, load average at the end {File.ReadAllText("/proc/loadavg").Split(' ')[0]}. Command (as root, from the repository root):");
        sb.AppendLine();
        sb.AppendLine("```");
        sb.AppendLine(commandLine);
        sb.AppendLine("```");
        foreach (var t in tables)
        {
            sb.AppendLine();
            sb.AppendLine($"**{t.Title}**");
            sb.AppendLine();
            sb.Append(t.Markdown());
        }
        var noteList = notes.ToList();
        if (noteList.Count > 0)
        {
            sb.AppendLine();
            foreach (var n in noteList) sb.AppendLine("- " + n);
        }
        string path = Path.Combine(outDir, verb + ".md");
        File.WriteAllText(path, sb.ToString());
        return path;
    }

    private static string MemTotal()
    {
        foreach (var line in File.ReadLines("/proc/meminfo"))
            if (line.StartsWith("MemTotal:", StringComparison.Ordinal)) return $"{long.Parse(line[9..].Trim().Split(' ')[0]) / 1024 / 1024 + 1} GB RAM";
        return "? RAM";
    }
}
