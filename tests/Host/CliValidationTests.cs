using Xunit;

namespace XtcpEpoll.Tests.Host;

/// <summary>Every bad value stops the daemon before anything starts: exit 2, ONE stderr line naming the option.</summary>
public class CliValidationTests
{
    [Theory]
    [InlineData("--frequency", "--frequency", "0s")]
    [InlineData("--frequency", "--frequency", "10")]
    [InlineData("--frequency", "--frequency", "ten seconds")]
    [InlineData("--frequency", "--frequency", "-1s")]
    [InlineData("--timeout", "--timeout", "0s")]
    [InlineData("--timeout", "--timeout", "10s")]
    [InlineData("--timeout", "--timeout", "11s")]
    [InlineData("--jitter-pct", "--jitter-pct", "150")]
    [InlineData("--jitter-pct", "--jitter-pct", "-3")]
    [InlineData("--jitter-pct", "--jitter-pct", "abc")]
    [InlineData("--max-loops", "--max-loops", "-1")]
    [InlineData("--marshal", "--marshal", "xml")]
    [InlineData("--dest", "--dest", "foo:bar")]
    [InlineData("--dest", "--dest", "kafka:")]
    [InlineData("--dest", "--dest", "udp:host")]
    [InlineData("--attributes", "--attributes", "info,nosuchattr")]
    [InlineData("--states", "--states", "established,nosuchstate")]
    [InlineData("--workers", "--workers", "0")]
    [InlineData("--workers", "--workers", "65")]
    [InlineData("--metrics-listen", "--metrics-listen", "abc")]
    [InlineData("--metrics-listen", "--metrics-listen", "127.0.0.1:70000")]
    [InlineData("--metrics-listen", "--metrics-listen", "300.1.1.1:9088")]
    [InlineData("--log-level", "--log-level", "loud")]
    [InlineData("--request", "--request", "v3")]
    [InlineData("--walk-interval", "--walk-interval", "-1s")]
    [InlineData("--walk-interval", "--walk-interval", "60")]
    [InlineData("--destroy-events", "--destroy-events", "maybe")]
    [InlineData("--shared-tables-refresh", "--shared-tables-refresh", "often")]
    [InlineData("--reconcile-interval", "--reconcile-interval", "1ms")]
    [InlineData("--shutdown-timeout", "--shutdown-timeout", "soon")]
    [InlineData("--envelope-flush-bytes", "--envelope-flush-bytes", "0")]
    [InlineData("--envelope-flush-rows", "--envelope-flush-rows", "0")]
    [InlineData("--kafka-compression", "--kafka-compression", "brotli")]
    [InlineData("--kafka-queue-max-bytes", "--kafka-queue-max-bytes", "2048")]
    [InlineData("--sink-queue-envelopes", "--sink-queue-envelopes", "0")]
    [InlineData("--columns", "--columns", "hostname,noSuchColumn")]
    [InlineData("--label", "--label", "this label is far longer than forty characters allowed")]
    [InlineData("--netns-dirs", "--netns-dirs", "relative/dir")]
    [InlineData("--proc-scan", "--proc-scan", "maybe")]
    [InlineData("--container-attribution", "--container-attribution", "maybe")]
    [InlineData("--emit", "--emit", "some")]
    [InlineData("--keyframe-interval", "--keyframe-interval", "0s")]
    [InlineData("--keyframe-interval", "--keyframe-interval", "often")]
    public void Bad_value_exits_2_with_one_line_naming_option_value_and_rule(string option, string flag, string value)
    {
        var result = CliRunner.Run(flag, value);

        Assert.Equal(2, result.ExitCode);
        var line = Assert.Single(result.StderrLines);
        Assert.Contains(option, line);
        Assert.Contains(value, line);
        Assert.DoesNotContain("   at ", result.Stderr); // no stack trace
        Assert.Equal("", result.Stdout);
    }

    [Theory]
    [InlineData("collect", "--frequency", "0s")]
    [InlineData("replay", "--marshal", "xml")]
    public void Subcommands_validate_the_same_way(string command, string flag, string value)
    {
        var fixture = Path.GetTempFileName();
        try
        {
            var result = command == "replay"
                ? CliRunner.Run(command, fixture, flag, value)
                : CliRunner.Run(command, flag, value);
            Assert.Equal(2, result.ExitCode);
            Assert.Contains(flag, Assert.Single(result.StderrLines));
        }
        finally
        {
            File.Delete(fixture);
        }
    }

    [Theory]
    [InlineData("--bogus")]
    [InlineData("--frequency")]
    [InlineData("collect", "extra-argument")]
    [InlineData("nosuchcommand")]
    [InlineData("replay")]
    public void Parser_errors_are_one_line_and_exit_2(params string[] args)
    {
        var result = CliRunner.Run(args);

        Assert.Equal(2, result.ExitCode);
        var line = Assert.Single(result.StderrLines);
        Assert.StartsWith("xtcp-epoll: ", line);
        Assert.Contains("--help", line);
    }

    [Fact]
    public void Replay_of_a_missing_file_is_one_line_and_exit_2()
    {
        var result = CliRunner.Run("replay", "/nonexistent/capture.pcap");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("/nonexistent/capture.pcap", Assert.Single(result.StderrLines));
    }

    [Fact]
    public void Keyframe_interval_below_the_poll_period_is_refused_only_under_emit_changed()
    {
        var refused = CliRunner.Run("--emit", "changed", "--frequency", "10s", "--keyframe-interval", "5s");
        Assert.Equal(2, refused.ExitCode);
        var line = Assert.Single(refused.StderrLines);
        Assert.Contains("--keyframe-interval", line);
        Assert.Contains("--frequency (10s)", line);

        var fromEnvironment = CliRunner.Run(new Dictionary<string, string> { ["XTCP_EMIT"] = "changed", ["XTCP_KEYFRAME_INTERVAL"] = "2m" }, "--print-config");
        Assert.Equal(0, fromEnvironment.ExitCode);
        Assert.Equal(("changed", "2m"), (fromEnvironment.Config()["emit"], fromEnvironment.Config()["keyframe-interval"]));

        var ignored = CliRunner.Run("--emit", "all", "--frequency", "10s", "--keyframe-interval", "5s", "--print-config");
        Assert.Equal(0, ignored.ExitCode);
    }

    [Fact]
    public void Timeout_error_names_the_frequency_it_must_stay_below()
    {
        var result = CliRunner.Run("--frequency", "2s", "--timeout", "2s");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("below --frequency (2s)", Assert.Single(result.StderrLines));
    }
}
