using XtcpEpoll.Host.Cli;
using XtcpEpoll.Sinks.Options;
using Xunit;

namespace XtcpEpoll.Tests.Host;

/// <summary>The README's option table stays true: every option of the catalog, with its variable and default.</summary>
public class ReadmeOptionsTests
{
    [Fact]
    public void Every_option_has_a_row_with_its_variable_and_default()
    {
        var rows = new List<string[]>();
        var inTable = false;
        foreach (var line in File.ReadLines(Path.Combine(TestPaths.RepoRoot, "README.md")))
        {
            if (line.StartsWith("### Options", StringComparison.Ordinal)) inTable = true;
            else if (inTable && line.StartsWith("### ", StringComparison.Ordinal)) break;
            else if (inTable && line.StartsWith("| `--", StringComparison.Ordinal)) rows.Add(line.Split('|', StringSplitOptions.TrimEntries));
        }

        foreach (var spec in OptionCatalog.Collect.Union(OptionCatalog.Replay))
        {
            var row = rows.SingleOrDefault(r => r[1].Split(", ").Contains($"`{spec.Flag}`"));
            Assert.True(row != null, $"README option table has no row for {spec.Flag}");
            Assert.Contains($"`{spec.EnvironmentVariable}`", row[2]);
            if (spec.DefaultText.Length == 0) continue;
            var documented = row[3].Trim('`');
            if (GoDuration.TryParse(spec.DefaultText, out var duration) && GoDuration.TryParse(documented, out var documentedDuration))
                Assert.Equal(duration, documentedDuration); // "60s" documents "1m"
            else
                Assert.Equal($"`{spec.DefaultText}`", row[3]);
        }
        Assert.Equal(OptionCatalog.Collect.Union(OptionCatalog.Replay).Count(), rows.Sum(r => r[1].Split(", ").Length));
    }
}
