using System.Text;
using XtcpEpoll.Host.Metrics.Http;
using Xunit;

namespace XtcpEpoll.Tests.Host;

/// <summary>The metrics endpoint's request-head reading, on bytes alone (no socket).</summary>
public class HttpRequestHeadTests
{
    [Theory]
    [InlineData("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 34)]
    [InlineData("GET / HTTP/1.0\r\n\r\nextra", 18)]
    [InlineData("GET / HTTP/1.0\n\n", 16)]
    [InlineData("GET / HTTP/1.0\nHost: x\n\n", 24)]
    [InlineData("GET /metr", -1)]
    [InlineData("GET /metrics HTTP/1.1\r\nHost: x\r\n", -1)]
    [InlineData("GET /metrics HTTP/1.1\r\nHost: x\r\n\r", -1)]
    [InlineData("", -1)]
    public void Finds_the_end_of_the_head(string received, int end) =>
        Assert.Equal(end, HttpRequestHead.FindEnd(Encoding.ASCII.GetBytes(received)));

    [Theory]
    [InlineData("GET /metrics HTTP/1.1\r\n\r\n", RequestVerdict.Get, "/metrics")]
    [InlineData("GET /readyz?verbose=1 HTTP/1.1\r\n\r\n", RequestVerdict.Get, "/readyz")]
    [InlineData("HEAD /metrics HTTP/1.1\r\n\r\n", RequestVerdict.Head, "/metrics")]
    [InlineData("GET /healthz HTTP/1.0\n\n", RequestVerdict.Get, "/healthz")]
    [InlineData("POST /metrics HTTP/1.1\r\n\r\n", RequestVerdict.OtherMethod, "")]
    [InlineData("GARBAGE\r\n\r\n", RequestVerdict.Malformed, "")]
    [InlineData("GET /metrics\r\n\r\n", RequestVerdict.Malformed, "")]
    [InlineData("GET metrics HTTP/1.1\r\n\r\n", RequestVerdict.Malformed, "")]
    [InlineData("GET /metrics FTP/1.0\r\n\r\n", RequestVerdict.Malformed, "")]
    [InlineData("GET /a b HTTP/1.1\r\n\r\n", RequestVerdict.Malformed, "")]
    [InlineData("G(T /metrics HTTP/1.1\r\n\r\n", RequestVerdict.Malformed, "")]
    [InlineData(" GET /metrics HTTP/1.1\r\n\r\n", RequestVerdict.Malformed, "")]
    public void Reads_method_and_path_of_the_request_line(string head, RequestVerdict verdict, string path)
    {
        Assert.Equal(verdict, HttpRequestHead.Parse(Encoding.ASCII.GetBytes(head), out var parsed));
        Assert.Equal(path, Encoding.ASCII.GetString(parsed));
    }

    [Fact]
    public void Never_throws_on_any_prefix_of_a_request()
    {
        var bytes = Encoding.ASCII.GetBytes("GET /metrics?x=1 HTTP/1.1\r\nHost: localhost:9088\r\nAccept: */*\r\n\r\n");
        for (int length = 0; length <= bytes.Length; length++)
        {
            HttpRequestHead.FindEnd(bytes.AsSpan(0, length));
            HttpRequestHead.Parse(bytes.AsSpan(0, length), out _);
        }
    }
}
