using System.Text.Json;
using System.Text.RegularExpressions;
using XtcpEpoll.Tests.Host;
using Xunit;
using Xunit.Abstractions;

namespace XtcpEpoll.Tests.Consumers;

/// <summary>
/// deploy/prometheus (alert rules) and deploy/grafana (dashboard) against the real thing: promtool's own
/// checker and unit tests, and a real Prometheus scraping a real collector (`xtcp-epoll collect
/// --metrics-listen`), where every dashboard and rule expression must parse and return series, every rule
/// must evaluate without error, and the two faults the collector is given (a destination that cannot be
/// written, a bind mount that is not a network namespace) must raise their alerts.
/// </summary>
public partial class PrometheusTests(ITestOutputHelper output)
{
    private static string Deploy => Path.Combine(TestPaths.RepoRoot, "deploy");
    private static string Rules => Path.Combine(Deploy, "prometheus", "xtcp-epoll-alerts.yml");
    private static string RuleTests => Path.Combine(Deploy, "prometheus", "tests", "xtcp-epoll-alerts.test.yml");
    private static string Dashboard => Path.Combine(Deploy, "grafana", "xtcp-epoll.json");
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    [Fact]
    public void Promtool_checks_the_rules_and_passes_their_unit_tests()
    {
        var check = ToolProcess.Run(Promtool, ["check", "rules", Rules], TimeSpan.FromMinutes(1));
        Assert.True(check.ExitCode == 0, check.Stdout + check.Stderr);
        var test = ToolProcess.Run(Promtool, ["test", "rules", RuleTests], TimeSpan.FromMinutes(2));
        output.WriteLine(test.Stdout + test.Stderr);
        Assert.True(test.ExitCode == 0, test.Stdout + test.Stderr);
        Assert.Contains("SUCCESS", test.Stdout + test.Stderr);

        // Every alert has unit tests, and the alerts asked for exist.
        var alerts = AlertNames().Order(StringComparer.Ordinal).ToArray();
        var tested = TestedAlert().Matches(File.ReadAllText(RuleTests)).Select(m => m.Groups[1].Value).Distinct().Order(StringComparer.Ordinal);
        Assert.Equal(alerts, tested);
        Assert.Subset(alerts.ToHashSet(), new HashSet<string> { "XtcpCollectorDown", "XtcpPollsTimingOut", "XtcpSinkErrors", "XtcpKafkaQueueFilling",
            "XtcpParseErrors", "XtcpThreadsAboveBudget", "XtcpNamespacesFailingToOpen" });
    }

    [Fact]
    public void Real_prometheus_scraping_a_real_collector_answers_every_dashboard_and_rule_expression()
    {
        using var namespaces = new TestNamespaces("prom");
        namespaces.Add(1);
        // A bind mount of a namespace that is not a network namespace: opening it fails (reason not_netns),
        // at every reconcile.
        var notNetns = Path.Combine(namespaces.Directory.FullName, "not-a-netns");
        File.WriteAllBytes(notNetns, []);
        Shell.Run("mount", "--bind", "/proc/self/ns/uts", notNetns);
        try
        {
            // /dev/full: every write of the file destination fails (ENOSPC), like a full disk.
            using var daemon = DaemonProcess.Start("collect", "--dest", "file:/dev/full", "--frequency", "1s",
                "--netns-dirs", namespaces.Directory.FullName, "--reconcile-interval", "1s", "--metrics-listen", "127.0.0.1:0");
            var port = daemon.WaitForMetricsPort(Patience);
            using var prometheus = new PrometheusServer($"127.0.0.1:{port}", [Rules]);
            var started = DateTimeOffset.UtcNow;

            // Enough scrapes that every rate over 30 s has several samples.
            prometheus.WaitUntil(() => prometheus.Query("count_over_time(up{job=\"xtcp-epoll\"}[1m]) >= 8").Length == 1, Patience, "8 scrapes");
            Assert.Equal("1", prometheus.Query("up{job=\"xtcp-epoll\"}")[0].GetProperty("value")[1].GetString());

            var failures = new List<string>();
            var dashboardExprs = DashboardExpressions();
            Assert.True(dashboardExprs.Count >= 30, $"{dashboardExprs.Count} dashboard expressions");
            foreach (var expr in dashboardExprs)
                ExpectSeries(prometheus, Substitute(expr), "dashboard", failures);

            foreach (var (alert, expr) in RuleExpressions())
            {
                // The whole expression parses and evaluates (it may rightly return nothing: no alert).
                try { prometheus.Query(expr); }
                catch (InvalidOperationException e) { failures.Add($"rule {alert}: {e.Message}"); continue; }
                // What it compares returns series on a healthy collector.
                var split = FinalComparison().Match(expr);
                if (!split.Success) { failures.Add($"rule {alert}: not '<quantity> <comparison> <number>': {expr}"); continue; }
                ExpectSeries(prometheus, split.Groups["quantity"].Value, "rule " + alert, failures);
            }
            Assert.True(failures.Count == 0, string.Join('\n', failures));

            // Every xtcp_* metric the collector exports is on the dashboard.
            var exported = prometheus.Api("api/v1/label/__name__/values").GetProperty("data").EnumerateArray()
                .Select(v => v.GetString()!).Where(n => n.StartsWith("xtcp_", StringComparison.Ordinal))
                .Select(n => HistogramSeries().Replace(n, "")).Distinct().ToArray();
            var dashboardText = string.Join('\n', dashboardExprs);
            var missing = exported.Where(n => !Regex.IsMatch(dashboardText, $@"\b{n}(_bucket)?\b")).ToArray();
            Assert.True(missing.Length == 0, "not on the dashboard: " + string.Join(", ", missing));
            output.WriteLine($"{dashboardExprs.Count} dashboard expressions and {RuleExpressions().Count} rules answered; {exported.Length} xtcp_* metrics, all on the dashboard");

            // Prometheus evaluated every rule without error...
            prometheus.WaitUntil(() => RuleStates(prometheus).All(r => r.LastEvaluation > started), Patience, "every rule evaluated");
            Assert.All(RuleStates(prometheus), r => Assert.True(r.Health == "ok", $"{r.Name}: {r.Health} {r.LastError}"));
            // ...and the two faults raise their alerts (pending: they hold for minutes before firing).
            prometheus.WaitUntil(() => ActiveAlerts(prometheus).Any(a => a.Name == "XtcpSinkErrors" && a.Labels.GetValueOrDefault("sink") == "file")
                && ActiveAlerts(prometheus).Any(a => a.Name == "XtcpNamespacesFailingToOpen" && a.Labels.GetValueOrDefault("reason") == "not_netns"),
                Patience, "XtcpSinkErrors{sink=file} and XtcpNamespacesFailingToOpen{reason=not_netns}");
            var active = ActiveAlerts(prometheus).Select(a => a.Name).ToHashSet();
            Assert.DoesNotContain("XtcpCollectorDown", active);
            Assert.DoesNotContain("XtcpThreadsAboveBudget", active);
            Assert.DoesNotContain("XtcpParseErrors", active);
            Assert.DoesNotContain("XtcpKafkaEnvelopesDropped", active);
        }
        finally
        {
            Shell.TryRun("umount", notNetns);
        }
    }

    private static string Promtool => ToolProcess.Which("promtool")
        ?? throw new InvalidOperationException("promtool is not on PATH: apt-get install --no-install-recommends prometheus (.ci/run does)");

    private static void ExpectSeries(PrometheusServer prometheus, string expr, string what, List<string> failures)
    {
        try
        {
            if (prometheus.Query(expr).Length == 0) failures.Add($"{what}: no series for {expr}");
        }
        catch (InvalidOperationException e)
        {
            failures.Add($"{what}: {e.Message}");
        }
    }

    /// <summary>Grafana's variables as the dashboard would expand them for this one collector.</summary>
    private static string Substitute(string expr) => expr
        .Replace("$__rate_interval", "30s").Replace("$job", "xtcp-epoll").Replace("$instance", ".*");

    private static List<string> DashboardExpressions()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Dashboard));
        var exprs = new List<string>();
        void Walk(JsonElement panels)
        {
            foreach (var p in panels.EnumerateArray())
            {
                if (p.TryGetProperty("targets", out var targets))
                    foreach (var t in targets.EnumerateArray()) exprs.Add(t.GetProperty("expr").GetString()!);
                if (p.TryGetProperty("panels", out var nested)) Walk(nested);
            }
        }
        Walk(doc.RootElement.GetProperty("panels"));
        return exprs;
    }

    private static IEnumerable<string> AlertNames() => AlertLine().Matches(File.ReadAllText(Rules)).Select(m => m.Groups[1].Value);

    /// <summary>(alert, expr) of every rule; the rules file keeps each expr on one line.</summary>
    private static List<(string Alert, string Expr)> RuleExpressions()
    {
        var names = AlertNames().ToArray();
        var exprs = ExprLine().Matches(File.ReadAllText(Rules)).Select(m => m.Groups[1].Value.Trim()).ToArray();
        Assert.Equal(names.Length, exprs.Length);
        return names.Zip(exprs).ToList();
    }

    private sealed record RuleState(string Name, string Health, string LastError, DateTimeOffset LastEvaluation);

    private static List<RuleState> RuleStates(PrometheusServer prometheus) =>
        prometheus.Api("api/v1/rules").GetProperty("data").GetProperty("groups").EnumerateArray()
            .SelectMany(g => g.GetProperty("rules").EnumerateArray())
            .Select(r => new RuleState(r.GetProperty("name").GetString()!, r.GetProperty("health").GetString()!,
                r.TryGetProperty("lastError", out var e) ? e.GetString() ?? "" : "",
                DateTimeOffset.Parse(r.GetProperty("lastEvaluation").GetString()!, System.Globalization.CultureInfo.InvariantCulture)))
            .ToList();

    private sealed record Alert(string Name, string State, Dictionary<string, string> Labels);

    private static List<Alert> ActiveAlerts(PrometheusServer prometheus) =>
        prometheus.Api("api/v1/alerts").GetProperty("data").GetProperty("alerts").EnumerateArray()
            .Select(a =>
            {
                var labels = a.GetProperty("labels").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!);
                return new Alert(labels["alertname"], a.GetProperty("state").GetString()!, labels);
            })
            .ToList();

    [GeneratedRegex(@"^\s*- alert:\s*(\S+)\s*$", RegexOptions.Multiline)]
    private static partial Regex AlertLine();

    [GeneratedRegex(@"^\s*expr:\s*(.+)$", RegexOptions.Multiline)]
    private static partial Regex ExprLine();

    [GeneratedRegex(@"^\s*alertname:\s*(\S+)\s*$", RegexOptions.Multiline)]
    private static partial Regex TestedAlert();

    /// <summary>"&lt;quantity&gt; &lt;op&gt; &lt;number&gt;" with the comparison last and a plain number after it.</summary>
    [GeneratedRegex(@"^(?<quantity>.+?)\s+(==|!=|>=|<=|>|<)\s+-?[0-9.]+$")]
    private static partial Regex FinalComparison();

    [GeneratedRegex(@"_(bucket|sum|count)$")]
    private static partial Regex HistogramSeries();
}
