using Xunit;

namespace XtcpEpoll.Tests.Host;

/// <summary>Defaults &lt; XTCP_* environment &lt; flags, shown by --print-config (which starts nothing).</summary>
public class ConfigPrecedenceTests
{
    [Fact]
    public void Print_config_shows_every_default_and_exits_0()
    {
        var result = CliRunner.Run("--print-config");

        Assert.Equal(0, result.ExitCode);
        var config = result.Config();
        Assert.Equal("10s", config["frequency"]);
        Assert.Equal("5s", config["timeout"]);
        Assert.Equal("20", config["jitter-pct"]);
        Assert.Equal("protobufList", config["marshal"]);
        Assert.Equal("stdout", config["dest"]);
        Assert.Equal("127.0.0.1:9088", config["metrics-listen"]);
        Assert.Equal("10s", config["shutdown-timeout"]);
        Assert.Equal("compat", config["request"]);
        Assert.Equal(Environment.MachineName, config["hostname"]);
        Assert.Equal("30m", config["walk-interval"]);
        Assert.Equal("true", config["destroy-events"]);
        Assert.DoesNotContain("shared-tables-refresh", config.Keys); // the deprecated alias is shown as walk-interval
        Assert.Equal("default", config["states"]);
        Assert.Equal("true", config["container-attribution"]);
        Assert.Equal("auto", config["cgroup-root"]);
        Assert.Equal("5s", config["cgroup-refresh"]);
        Assert.Equal("false", config["file-append"]);
        // every collect option, one line each (not the deprecated alias: it is shown as walk-interval)
        Assert.Equal(XtcpEpoll.Host.Cli.OptionCatalog.Collect.Count - 1, config.Count);
    }

    [Fact]
    public void Environment_sets_values_with_xtcp_prefixed_upper_snake_names()
    {
        var env = new Dictionary<string, string>
        {
            ["XTCP_FREQUENCY"] = "30s",
            ["XTCP_JITTER_PCT"] = "5",
            ["XTCP_MARSHAL"] = "jsonl",
            ["XTCP_PROC_SCAN"] = "true",
            ["XTCP_METRICS_LISTEN"] = "",
            ["XTCP_NETNS_DIRS"] = "/a,/b",
        };

        var config = CliRunner.Run(env, "collect", "--print-config").Config();

        Assert.Equal("30s", config["frequency"]);
        Assert.Equal("5", config["jitter-pct"]);
        Assert.Equal("jsonl", config["marshal"]);
        Assert.Equal("true", config["proc-scan"]);
        Assert.Equal("", config["metrics-listen"]);
        Assert.Equal("/a,/b", config["netns-dirs"]);
    }

    [Fact]
    public void Flags_win_over_environment()
    {
        var env = new Dictionary<string, string> { ["XTCP_FREQUENCY"] = "30s", ["XTCP_PROC_SCAN"] = "true", ["XTCP_LABEL"] = "env" };

        var config = CliRunner.Run(env, "--frequency", "1m", "--proc-scan", "false", "--label", "flag", "--print-config").Config();

        Assert.Equal("1m", config["frequency"]);
        Assert.Equal("false", config["proc-scan"]);
        Assert.Equal("flag", config["label"]);
    }

    [Fact]
    public void A_short_frequency_alone_shrinks_the_default_timeout_to_half_of_it()
    {
        var result = CliRunner.Run("--frequency", "1s", "--print-config");

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("500ms", result.Config()["timeout"]);
    }

    [Fact]
    public void A_switch_alone_means_true()
    {
        var config = CliRunner.Run("--proc-scan", "--spread", "--print-config").Config();

        Assert.Equal("true", config["proc-scan"]);
        Assert.Equal("true", config["spread"]);
    }

    [Fact]
    public void Container_attribution_is_a_switch_that_also_takes_a_value()
    {
        // The environment turns it off, so a bare flag can only print "true" if the parser reads it as a switch.
        var env = new Dictionary<string, string> { ["XTCP_CONTAINER_ATTRIBUTION"] = "false" };
        var bare = CliRunner.Run(env, "collect", "--container-attribution", "--print-config");
        Assert.Equal(0, bare.ExitCode);
        Assert.Equal("true", bare.Config()["container-attribution"]);

        // The bench harness's documented form: --collector-args="--container-attribution false", split on spaces
        // and placed after "collect" and the harness's own options.
        var valued = CliRunner.Run("collect", "--workers", "1", "--container-attribution", "false", "--print-config");
        Assert.Equal(0, valued.ExitCode);
        Assert.Equal("false", valued.Config()["container-attribution"]);
    }

    [Fact]
    public void Print_config_can_come_from_the_environment_too()
    {
        var env = new Dictionary<string, string> { ["XTCP_PRINT_CONFIG"] = "1" };

        var result = CliRunner.Run(env);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("10s", result.Config()["frequency"]);
    }

    [Fact]
    public void A_bad_environment_value_names_the_variable_and_the_flag()
    {
        var env = new Dictionary<string, string> { ["XTCP_JITTER_PCT"] = "150" };

        var result = CliRunner.Run(env, "--print-config");

        Assert.Equal(2, result.ExitCode);
        var line = Assert.Single(result.StderrLines);
        Assert.Contains("XTCP_JITTER_PCT", line);
        Assert.Contains("--jitter-pct", line);
        Assert.Contains("150", line);
    }

    [Fact]
    public void The_deprecated_shared_tables_refresh_sets_the_walk_interval_with_a_warning()
    {
        foreach (var result in new[]
        {
            CliRunner.Run("--shared-tables-refresh", "90s", "--print-config"),
            CliRunner.Run(new Dictionary<string, string> { ["XTCP_SHARED_TABLES_REFRESH"] = "90s" }, "--print-config"),
        })
        {
            Assert.Equal(0, result.ExitCode);
            Assert.Equal("1m30s", result.Config()["walk-interval"]);
            Assert.DoesNotContain("shared-tables-refresh", result.Config().Keys);
            var warning = Assert.Single(result.StderrLines);
            Assert.Contains("--shared-tables-refresh (XTCP_SHARED_TABLES_REFRESH) is deprecated", warning);
            Assert.Contains("--walk-interval", warning);
        }
    }

    [Fact]
    public void The_deprecated_name_and_the_new_one_together_are_refused()
    {
        var result = CliRunner.Run(new Dictionary<string, string> { ["XTCP_WALK_INTERVAL"] = "2m" }, "--shared-tables-refresh", "90s", "--print-config");

        Assert.Equal(2, result.ExitCode);
        var line = Assert.Single(result.StderrLines);
        Assert.Contains("--shared-tables-refresh", line);
        Assert.Contains("--walk-interval", line);
    }

    [Fact]
    public void Go_style_durations_are_normalised()
    {
        var config = CliRunner.Run("--frequency", "1m30s", "--timeout", "1500ms", "--reconcile-interval", "2h", "--print-config").Config();

        Assert.Equal("1m30s", config["frequency"]);
        Assert.Equal("1.5s", config["timeout"]);
        Assert.Equal("2h", config["reconcile-interval"]);
    }

    [Fact]
    public void Replay_prints_its_own_options()
    {
        var file = Path.GetTempFileName();
        try
        {
            var result = CliRunner.Run("replay", file, "--marshal", "jsonl", "--print-config");
            Assert.Equal(0, result.ExitCode);
            Assert.Equal("jsonl", result.Config()["marshal"]);
            Assert.False(result.Config().ContainsKey("frequency"));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void Version_prints_the_version_and_exits_0()
    {
        var result = CliRunner.Run("version");

        Assert.Equal(0, result.ExitCode);
        Assert.StartsWith("xtcp-epoll ", result.Stdout);
        Assert.Equal("", result.Stderr);
    }

    [Theory]
    [InlineData("--help")]
    [InlineData("collect", "--help")]
    [InlineData("replay", "--help")]
    [InlineData("version", "--help")]
    public void Help_is_available_everywhere(params string[] args)
    {
        var result = CliRunner.Run(args);

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("Usage:", result.Stdout);
    }
}
