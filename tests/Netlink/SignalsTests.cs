using Xunit;
using XtcpEpoll.Netlink.Native;
using static Tmds.Linux.LibC;

namespace XtcpEpoll.Tests.Netlink;

public sealed unsafe class SignalsTests
{
    [Fact]
    public void An_ignored_signal_is_made_default_again_and_only_then_reported()
    {
        // SIGUSR2: neither the runtime nor xunit handles it; its disposition is put back afterwards.
        Tmds.Linux.sigaction original = default, ignore = default, now = default;
        Assert.Equal(0, sigaction(SIGUSR2, null, &original));
        try
        {
            *(void**)&ignore = SIG_IGN;
            Assert.Equal(0, sigaction(SIGUSR2, &ignore, null));

            Assert.True(Signals.RestoreDefaultIfIgnored(SIGUSR2));
            Assert.Equal(0, sigaction(SIGUSR2, null, &now));
            Assert.True(*(void**)&now == SIG_DFL, "handler is SIG_DFL");
            Assert.False(Signals.RestoreDefaultIfIgnored(SIGUSR2)); // not ignored any more
        }
        finally
        {
            sigaction(SIGUSR2, &original, null);
        }
    }

    [Fact]
    public void The_test_signal_constants_are_the_platform_numbers()
    {
        Assert.Equal(XtcpEpoll.Tests.Host.NativeTest.SIGINT, SIGINT);
        Assert.Equal(XtcpEpoll.Tests.Host.NativeTest.SIGTERM, SIGTERM);
    }
}
