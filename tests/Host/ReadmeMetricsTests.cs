using System.Net;
using System.Reflection;
using System.Runtime.Loader;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging.Abstractions;
using Prometheus;
using XtcpEpoll.Host.Metrics;
using Xunit;

namespace XtcpEpoll.Tests.Host;

/// <summary>
/// The README's metric table stays true, both ways: every xtcp_* metric a real scrape of the daemon's
/// endpoint shows has a row with its type and label, every row names a metric that exists, and the label
/// values marked * are exactly those exported at 0 from the start. (process_* are prometheus-net's, left to its docs.)
/// </summary>
public partial class ReadmeMetricsTests
{
    private sealed record LabelRow(string Label, bool AtZero, HashSet<string> Values);

    private sealed record Row(string Type, List<LabelRow> Labels);

    private sealed class Family(string type)
    {
        public string Type { get; } = type;
        public Dictionary<string, HashSet<string>> LabelValues { get; } = [];
    }

    [Fact]
    public void Every_metric_class_is_initialized_at_start()
    {
        // A class missing from HostMetrics.MetricClasses would export its series only after its first event
        // (and this test's scrape, below, would not see it).
        var declaring = new HashSet<Type>();
        foreach (var assembly in new[] { typeof(XtcpEpoll.Loop.Metrics.LoopMetrics).Assembly, typeof(XtcpEpoll.Sinks.Metrics.SinkMetrics).Assembly, typeof(HostMetrics).Assembly, typeof(XtcpEpoll.Netlink.Parsing.ParseErrorCounters).Assembly })
            foreach (var type in assembly.GetTypes())
                foreach (var field in type.GetFields(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
                    if (typeof(ICollector).IsAssignableFrom(field.FieldType)) declaring.Add(type);

        Assert.True(declaring.SetEquals(HostMetrics.MetricClasses),
            $"classes declaring metrics: [{string.Join(", ", declaring.Select(t => t.Name).Order())}]; HostMetrics.MetricClasses: [{string.Join(", ", HostMetrics.MetricClasses.Select(t => t.Name).Order())}]");
    }

    [Fact]
    public void Every_exported_metric_has_a_row_with_its_type_and_labels_and_every_row_exists()
    {
        var rows = ReadmeRows();
        var families = ScrapeAtStart();
        var labelNames = DeclaredLabelNames();

        foreach (var (name, family) in families)
        {
            Assert.True(rows.TryGetValue(name, out var row), $"README metric table has no row for {name} (a {family.Type})");
            Assert.True(row.Type == family.Type, $"README says {name} is a {row.Type}; the scrape says {family.Type}");
            Assert.True(labelNames.TryGetValue(name, out var declared), $"{name} is not a static field of a HostMetrics.MetricClasses type");
            Assert.True(declared.SequenceEqual(row.Labels.Select(l => l.Label)),
                $"{name} has labels [{string.Join(", ", declared)}]; the README says [{string.Join(", ", row.Labels.Select(l => l.Label))}]");
            foreach (var label in row.Labels)
            {
                var exported = family.LabelValues.GetValueOrDefault(label.Label) ?? [];
                // Marked * = exactly the listed values exist at 0 before any event; unmarked = none does yet.
                var expected = label.AtZero ? label.Values : [];
                Assert.True(exported.SetEquals(expected),
                    $"{name}{{{label.Label}}}: the README lists [{string.Join(", ", label.Values.Order())}]{(label.AtZero ? " marked * (exported at 0 from the start)" : " unmarked (none exported before its first event)")}; the first scrape has [{string.Join(", ", exported.Order())}]");
            }
        }

        foreach (var name in rows.Keys)
            Assert.True(families.ContainsKey(name), $"README metric table lists {name}, which the daemon does not export");
    }

    /// <summary>The table under "Every metric the daemon exports": metric name → its row (one row may name several metrics).</summary>
    private static Dictionary<string, Row> ReadmeRows()
    {
        var rows = new Dictionary<string, Row>();
        var inTable = false;
        HashSet<string> previousValues = [];
        foreach (var line in File.ReadLines(Path.Combine(TestPaths.RepoRoot, "README.md")))
        {
            if (line.StartsWith("| metric | type | labels |", StringComparison.Ordinal)) { inTable = true; continue; }
            if (!inTable || line.StartsWith("|---", StringComparison.Ordinal)) continue;
            if (!line.StartsWith('|')) break;

            var cells = line.Split('|', StringSplitOptions.TrimEntries);
            Assert.True(cells.Length == 6, $"README metric row does not have 4 cells: {line}");
            var type = cells[2] switch
            {
                "C" => "counter",
                "G" => "gauge",
                "H" => "histogram",
                _ => throw new Xunit.Sdk.XunitException($"README metric row has type '{cells[2]}' (C, G or H): {line}"),
            };
            // One or more labels, separated by "; " (a metric with two labels: "`outcome`\\*: ...; `trigger`\\*: ...").
            var labels = new List<LabelRow>();
            HashSet<string> values = [];
            foreach (var part in cells[3].Length > 0 ? NextLabel().Split(cells[3]) : [])
            {
                var match = LabelCell().Match(part);
                Assert.True(match.Success, $"README labels cell is not \"`name`: `value`, ...\" (\\* after the name if exported at 0; labels separated by '; '): {line}");
                values = [.. Backticked().Matches(match.Groups[3].Value).Select(m => m.Groups[1].Value)];
                if (match.Groups[3].Value.StartsWith("as above", StringComparison.Ordinal)) values.UnionWith(previousValues);
                labels.Add(new LabelRow(match.Groups[1].Value, match.Groups[2].Success, values));
            }
            previousValues = values;

            var names = Backticked().Matches(cells[1]).Select(m => m.Groups[1].Value).ToList();
            Assert.True(names.Count > 0, $"README metric row names no metric: {line}");
            foreach (var name in names)
                Assert.True(rows.TryAdd(name, new Row(type, labels)), $"README metric table lists {name} twice");
        }
        Assert.True(rows.Count > 0, "README has no metric table (header \"| metric | type | labels | what it counts |\")");
        return rows;
    }

    /// <summary>
    /// What the first scrape of a starting daemon shows: in a fresh copy of the daemon's assemblies and
    /// prometheus-net (their own load context, so their static state is untouched by the other tests of this
    /// process), HostMetrics.Initialize as collect runs it, then a GET of that copy's real /metrics endpoint.
    /// Type per family from "# TYPE", label values from the samples.
    /// </summary>
    private static Dictionary<string, Family> ScrapeAtStart()
    {
        var fresh = new FreshDaemonAssemblies();
        var host = fresh.LoadFromAssemblyName(typeof(HostMetrics).Assembly.GetName());
        host.GetType(typeof(HostMetrics).FullName!, throwOnError: true)!.GetMethod(nameof(HostMetrics.Initialize))!.Invoke(null, null);
        var healthType = host.GetType(typeof(HealthState).FullName!, throwOnError: true)!;
        var start = host.GetType(typeof(MetricsEndpoint).FullName!, throwOnError: true)!
            .GetMethod(nameof(MetricsEndpoint.Start), [typeof(IPEndPoint), healthType, typeof(Microsoft.Extensions.Logging.ILogger)])!;
        using var server = (IDisposable)start.Invoke(null, [new IPEndPoint(IPAddress.Loopback, 0), Activator.CreateInstance(healthType), NullLogger.Instance])!;
        var port = ((IPEndPoint)server.GetType().GetProperty(nameof(MetricsEndpoint.LocalEndPoint))!.GetValue(server)!).Port;
        var (status, body) = HttpGet.Get(port, "/metrics");
        Assert.Equal(200, status);

        var families = new Dictionary<string, Family>();
        Family? current = null;
        foreach (var line in body.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.StartsWith("# TYPE ", StringComparison.Ordinal))
            {
                var parts = line.Split(' ');
                current = parts[2].StartsWith("xtcp_", StringComparison.Ordinal) ? families[parts[2]] = new Family(parts[3]) : null;
            }
            else if (current != null && !line.StartsWith('#'))
            {
                foreach (Match pair in LabelPair().Matches(line))
                {
                    if (pair.Groups[1].Value == "le" && current.Type == "histogram") continue; // a bucket bound, not a label
                    if (!current.LabelValues.TryGetValue(pair.Groups[1].Value, out var set)) current.LabelValues[pair.Groups[1].Value] = set = [];
                    set.Add(pair.Groups[2].Value);
                }
            }
        }
        Assert.True(families.Count > 0, "the scrape has no xtcp_* metric");
        return families;
    }

    /// <summary>Label names as declared, from the collectors themselves (a labelled metric with no series yet shows none in a scrape).</summary>
    private static Dictionary<string, string[]> DeclaredLabelNames()
    {
        var names = new Dictionary<string, string[]>();
        foreach (var type in HostMetrics.MetricClasses)
            foreach (var field in type.GetFields(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic))
                if (field.GetValue(null) is ICollector collector) names[collector.Name] = collector.LabelNames;
        return names;
    }

    /// <summary>The daemon's assemblies and prometheus-net loaded afresh from the test's directory; the rest (framework, logging) shared.</summary>
    private sealed class FreshDaemonAssemblies() : AssemblyLoadContext("fresh-daemon-metrics")
    {
        private static readonly string[] Isolated =
        [
            typeof(ICollector).Assembly.GetName().Name!, typeof(HostMetrics).Assembly.GetName().Name!,
            typeof(XtcpEpoll.Loop.Metrics.LoopMetrics).Assembly.GetName().Name!, typeof(XtcpEpoll.Sinks.Metrics.SinkMetrics).Assembly.GetName().Name!,
            typeof(XtcpEpoll.Netlink.Parsing.ParseErrorCounters).Assembly.GetName().Name!,
        ];

        protected override Assembly? Load(AssemblyName name)
            => Isolated.Contains(name.Name) ? LoadFromAssemblyPath(Path.Combine(AppContext.BaseDirectory, name.Name + ".dll")) : null;
    }

    [GeneratedRegex(@"^`([a-z_]+)`(\\\*)?:\s*(.*)$")]
    private static partial Regex LabelCell();

    /// <summary>Where the next label of a cell starts: "; `name`:" (a "; " inside one label's values does not).</summary>
    [GeneratedRegex(@";\s+(?=`[a-z_]+`(?:\\\*)?:)")]
    private static partial Regex NextLabel();

    [GeneratedRegex("`([^`]+)`")]
    private static partial Regex Backticked();

    [GeneratedRegex("""([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|\})""")]
    private static partial Regex LabelPair();
}
