using System.Net;
using XtcpEpoll.Host.Metrics;
using Xunit;

namespace XtcpEpoll.Tests.Host;

public class ListenAddressTests
{
    [Theory]
    [InlineData("127.0.0.1:9088", "127.0.0.1", 9088)]
    [InlineData(":9088", "::", 9088)]
    [InlineData("[::1]:9100", "::1", 9100)]
    [InlineData("localhost:0", "127.0.0.1", 0)]
    public void Parses_host_and_port(string text, string address, int port)
    {
        Assert.True(ListenAddress.TryParse(text, out var endpoint, out _));
        Assert.Equal(IPAddress.Parse(address), endpoint!.Address);
        Assert.Equal(port, endpoint.Port);
    }

    [Fact]
    public void Empty_disables_the_listener()
    {
        Assert.True(ListenAddress.TryParse("", out var endpoint, out _));
        Assert.Null(endpoint);
    }

    [Theory]
    [InlineData("9088")]
    [InlineData("::1:9088")]
    [InlineData("host.example:9088")]
    [InlineData("127.0.0.1:")]
    [InlineData("127.0.0.1:99999")]
    public void Rejects_bad_addresses(string text)
    {
        Assert.False(ListenAddress.TryParse(text, out _, out var error));
        Assert.NotEmpty(error);
    }
}
