using XtcpEpoll.Host.Metrics;
using Xunit;

namespace XtcpEpoll.Tests.Host;

public class SinkHealthTests
{
    [Fact]
    public void Failing_sends_make_the_sink_unhealthy_until_one_succeeds()
    {
        double sends = 10, errors = 3;
        var health = new SinkHealth(() => sends, () => errors);

        Assert.True(health.IsHealthy);           // nothing happened yet
        errors++;
        Assert.False(health.IsHealthy);          // a send failed, none succeeded
        Assert.False(health.IsHealthy);          // still: no success since
        sends++;
        Assert.True(health.IsHealthy);           // delivered again
        sends++; errors++;
        Assert.True(health.IsHealthy);           // partial success counts as healthy (e.g. one of two brokers)
    }
}
