using Tmds.Linux;
using XtcpEpoll.Loop.Metrics;
using XtcpEpoll.Loop.Namespaces;
using Xunit;

namespace XtcpEpoll.Tests.Loop;

/// <summary>How open failures are classified and named (no root: pure rules).</summary>
public sealed class OpenFailureTests
{
    [Fact]
    public void Every_failure_is_named_by_a_label_the_metric_exports_from_the_start()
    {
        var labels = Enum.GetValues<OpenFailure>().Where(f => f != OpenFailure.None).Select(OpenFailures.Label).ToList();

        Assert.Equal(["open", "not_netns", "vanished", "inode_changed", "setns", "socket", "restore", "verify"], labels);
        // The metric's label list is the opener's labels plus the lane's own ("epoll"): nothing else, nothing missing.
        Assert.Equal([.. labels, "epoll"], LoopMetrics.OpenFailureReasons);
        Assert.Throws<ArgumentOutOfRangeException>(() => OpenFailures.Label(OpenFailure.None));
    }

    [Theory]
    [InlineData(2 /* ENOENT */, OpenFailure.Vanished)]
    [InlineData(13 /* EACCES */, OpenFailure.Open)]
    [InlineData(24 /* EMFILE */, OpenFailure.Open)]
    public void An_open_that_finds_no_file_means_the_namespace_vanished(int errno, OpenFailure expected)
    {
        Assert.Equal(2, LibC.ENOENT); // the literals above are Linux's numbers
        Assert.Equal(expected, OpenFailures.OfOpen(errno));
    }

    [Theory]
    [InlineData(22 /* EINVAL */, OpenFailure.NotNetns)]
    [InlineData(1 /* EPERM */, OpenFailure.Setns)]
    [InlineData(12 /* ENOMEM */, OpenFailure.Setns)]
    public void A_setns_refused_with_EINVAL_means_the_file_is_no_network_namespace(int errno, OpenFailure expected)
    {
        Assert.Equal(22, LibC.EINVAL);
        Assert.Equal(expected, OpenFailures.OfSetns(errno));
    }

    [Fact]
    public void Only_a_vanished_or_replaced_namespace_is_dropped_at_once_the_rest_wait_for_the_reconcile()
    {
        var gone = Enum.GetValues<OpenFailure>().Where(OpenFailures.NamespaceGone);
        Assert.Equal([OpenFailure.Vanished, OpenFailure.InodeChanged], gone);
    }
}
