using Microsoft.Extensions.Logging.Abstractions;
using XtcpEpoll.Loop;
using XtcpEpoll.Sinks.Batching;
using XtcpEpoll.Sinks.Options;
using XtcpEpoll.Tests.Loop;
using Xunit;

namespace XtcpEpoll.Tests.Host;

/// <summary>
/// Each rule has one home (CollectorOptions, SinkOptions, RecordStampRules): the command line, the XTCP_*
/// environment and the library entry points (Collector, EnvelopeBatcher.TryCreate) refuse the same values
/// with the same line. Several of these cases disagreed before: timeout == frequency passed the library,
/// --sink-queue-envelopes 2000 and a 41-character label passed it too, and --columns with jsonl passed
/// --print-config only to fail at start.
/// </summary>
public class ValidationAgreementTests
{
    private static readonly Dictionary<string, (string[] Args, Func<CollectorOptions>? Loop, Func<SinkOptions>? Sink)> Cases = new()
    {
        ["timeout-equals-frequency"] = (["--frequency", "10s", "--timeout", "10s"],
            () => new CollectorOptions { Frequency = TimeSpan.FromSeconds(10), Timeout = TimeSpan.FromSeconds(10) }, null),
        ["jitter-above-90"] = (["--jitter-pct", "95"], () => new CollectorOptions { JitterPct = 95 }, null),
        ["workers-above-64"] = (["--workers", "65"], () => new CollectorOptions { Workers = 65 }, null),
        ["reconcile-below-100ms"] = (["--reconcile-interval", "50ms"], () => new CollectorOptions { ReconcileInterval = TimeSpan.FromMilliseconds(50) }, null),
        ["cgroup-refresh-below-100ms"] = (["--cgroup-refresh", "50ms"], () => new CollectorOptions { CgroupRefresh = TimeSpan.FromMilliseconds(50) }, null),
        ["relative-cgroup-root"] = (["--cgroup-root", "sys/fs/cgroup"], () => new CollectorOptions { CgroupRoot = "sys/fs/cgroup" }, null),
        ["relative-netns-dir"] = (["--netns-dirs", "relative/dir"], () => new CollectorOptions { NetnsDirs = ["relative/dir"] }, null),
        ["label-too-long"] = (["--label", new string('x', 41)], () => new CollectorOptions { Label = new string('x', 41) }, null),
        ["spread-without-room"] = (["--spread", "--frequency", "1s", "--timeout", "900ms"],
            () => new CollectorOptions { Spread = true, Frequency = TimeSpan.FromSeconds(1), Timeout = TimeSpan.FromMilliseconds(900) }, null),
        ["flush-bytes-too-small"] = (["--envelope-flush-bytes", "10"], null, () => new SinkOptions { EnvelopeFlushBytes = 10 }),
        ["sink-queue-above-1024"] = (["--sink-queue-envelopes", "2000"], null, () => new SinkOptions { SinkQueueEnvelopes = 2000 }),
        ["kafka-queue-below-envelope"] = (["--kafka-queue-max-bytes", "2048"], null, () => new SinkOptions { KafkaQueueMaxBytes = 2048 }),
        ["topic-with-a-space"] = (["--topic", "my topic"], null, () => new SinkOptions { Topic = "my topic" }),
        ["columns-with-jsonl"] = (["--marshal", "jsonl", "--columns", "hostname"], null, () => new SinkOptions { Marshal = "jsonl", Columns = "hostname" }),
        ["unknown-compression"] = (["--kafka-compression", "brotli"], null, () => new SinkOptions { KafkaCompression = "brotli" }),
        ["unknown-destination"] = (["--dest", "foo:bar"], null, () => new SinkOptions { Dest = "foo:bar" }),
    };

    public static TheoryData<string> CaseNames() => new(Cases.Keys);

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Command_line_and_library_refuse_with_the_same_line(string name)
    {
        var (args, loop, sink) = Cases[name];
        var libraryError = LibraryError(loop, sink);

        var cli = CliRunner.Run([.. args, "--print-config"]);

        Assert.Equal(2, cli.ExitCode);
        Assert.Equal("xtcp-epoll: " + libraryError.Message, Assert.Single(cli.StderrLines));
        Assert.Equal(libraryError.Message, LibraryEntryPointMessage(loop, sink));
    }

    [Fact]
    public void The_environment_gets_the_same_rule_naming_its_variable()
    {
        var libraryError = new CollectorOptions { Frequency = TimeSpan.FromSeconds(10), Timeout = TimeSpan.FromSeconds(10) }.Validate()!;
        var env = new Dictionary<string, string> { ["XTCP_FREQUENCY"] = "10s", ["XTCP_TIMEOUT"] = "10s" };

        var cli = CliRunner.Run(env, "--print-config");

        Assert.Equal(2, cli.ExitCode);
        Assert.Equal($"xtcp-epoll: invalid XTCP_TIMEOUT (--timeout) value \"10s\": {libraryError.Requirement}", Assert.Single(cli.StderrLines));
        Assert.Equal("must be below --frequency (10s)", libraryError.Requirement);
    }

    [Fact]
    public void Library_defaults_are_valid_and_are_the_documented_defaults()
    {
        Assert.Null(new CollectorOptions().Validate());
        Assert.Null(new SinkOptions().Validate());
        var printed = CliRunner.Run("--print-config").Config();
        var loop = new CollectorOptions();
        Assert.Equal(GoDuration.Format(loop.Frequency), printed["frequency"]);
        Assert.Equal(GoDuration.Format(loop.Timeout), printed["timeout"]);
        Assert.Equal(loop.Workers.ToString(), printed["workers"]);
        Assert.Equal(new SinkOptions().EnvelopeFlushBytes.ToString(), printed["envelope-flush-bytes"]);
    }

    private static OptionError LibraryError(Func<CollectorOptions>? loop, Func<SinkOptions>? sink)
        => (loop != null ? loop().Validate() : sink!().Validate()) ?? throw new Xunit.Sdk.XunitException("the library accepted it");

    /// <summary>What a library caller sees from the entry point itself (Collector's constructor, EnvelopeBatcher.TryCreate).</summary>
    private static string LibraryEntryPointMessage(Func<CollectorOptions>? loop, Func<SinkOptions>? sink)
    {
        if (loop != null)
            return Assert.Throws<ArgumentException>(() => new Collector(loop(), new CollectingSink(), NullLogger.Instance)).Message;
        Assert.False(EnvelopeBatcher.TryCreate(sink!(), NullLoggerFactory.Instance, out _, out var error));
        return error;
    }
}
