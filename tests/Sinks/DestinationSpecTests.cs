using XtcpEpoll.Sinks.Batching;
using XtcpEpoll.Sinks.Destinations;
using Xunit;

namespace XtcpEpoll.Tests.Sinks;

public class DestinationSpecTests
{
    [Theory]
    [InlineData("kafka:", "--dest kafka: needs at least one broker host:port")]
    [InlineData("udp:host", "--dest udp:host needs a port: use udp:HOST:PORT")]
    [InlineData("tcp:host:99999", "--dest tcp:host:99999 has an invalid port '99999' (1-65535): use tcp:HOST:PORT")]
    [InlineData("unix:", "--dest unix: needs a socket path: use unix:PATH")]
    [InlineData("kafka:b1:9092,b2", "--dest kafka:b1:9092,b2: broker 'b2' needs a port; use kafka:HOST:PORT[,HOST:PORT...]")]
    public void Bad_destinations_give_one_line_errors(string text, string expected)
    {
        Assert.False(DestinationSpec.TryParse(text, out _, out var error));
        Assert.Equal(expected, error);
    }

    [Fact]
    public void Unknown_scheme_lists_the_allowed_ones()
    {
        Assert.False(DestinationSpec.TryParse("foo:bar", out _, out var error));
        Assert.StartsWith("--dest foo:bar: unknown scheme 'foo'; use one of null, stdout, file:PATH, tcp:HOST:PORT", error);
        Assert.Contains("kafka:BROKER", error);
        Assert.DoesNotContain("\n", error);
    }

    [Theory]
    [InlineData("file:/proc/xt-sinks-no-such-dir/out.bin")]
    [InlineData("file:/dev/null/x")]
    public void Unwritable_file_is_rejected_at_startup(string text)
    {
        Assert.False(DestinationSpec.TryParse(text, out _, out var error));
        Assert.StartsWith($"--dest {text}: cannot open", error);
        Assert.DoesNotContain("\n", error);
    }

    [Fact]
    public void Good_destinations_parse()
    {
        Assert.True(DestinationSpec.TryParse("kafka:b1:9092, b2:9093", out var k, out _));
        Assert.Equal(new[] { "b1:9092", "b2:9093" }, k.Brokers);
        Assert.True(DestinationSpec.TryParse("udp:[::1]:5000", out var u, out _));
        Assert.Equal(("::1", 5000), (u.Host, u.Port));
        Assert.True(DestinationSpec.TryParse("https://example.org/ingest", out var h, out _));
        Assert.Equal(DestinationKind.Http, h.Kind);
        Assert.True(DestinationSpec.TryParse("unixgram:/run/x.sock", out var g, out _));
        Assert.Equal("/run/x.sock", g.Path);
        Assert.True(DestinationSpec.TryParse("null", out _, out _));
        Assert.True(DestinationSpec.TryParse("stdout", out _, out _));
    }

    [Fact]
    public void Options_validation_reports_bad_compression()
    {
        var options = new SinkOptions { Dest = "kafka:localhost:9092", KafkaCompression = "brotli" };
        Assert.Equal("invalid --kafka-compression value \"brotli\": allowed: zstd, lz4, snappy, gzip, none", options.Validate()?.Message);
        Assert.Null(new SinkOptions().Validate());
    }
}
