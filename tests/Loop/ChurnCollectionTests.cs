using XtcpEpoll.Loop.Control;
using XtcpEpoll.Loop.Metrics;
using XtcpEpoll.Netlink.Native;
using Xunit;

namespace XtcpEpoll.Tests.Loop;

/// <summary>When the control thread collects after namespace churn (the policy, with a counting collection; and the real one once).</summary>
public sealed class ChurnCollectionTests
{
    private static readonly long Minute = MonotonicClock.Ticks(ChurnCollection.MinInterval);

    [Fact]
    public void Nothing_is_collected_before_the_threshold_of_closed_namespaces()
    {
        int runs = 0;
        var churn = new ChurnCollection(3, () => runs++);
        churn.NamespaceClosed();
        churn.NamespaceClosed();
        Assert.False(churn.CollectIfDue(1_000));
        churn.NamespaceClosed();
        Assert.True(churn.CollectIfDue(1_000));
        Assert.Equal(1, runs);
        Assert.Equal(0, churn.ClosedSince);
    }

    [Fact]
    public void Mass_churn_collects_at_most_once_a_minute_and_keeps_the_count_for_the_next()
    {
        int runs = 0;
        var churn = new ChurnCollection(2, () => runs++);
        for (int i = 0; i < 10; i++) churn.NamespaceClosed();
        Assert.True(churn.CollectIfDue(5_000));

        for (int i = 0; i < 5_000; i++) churn.NamespaceClosed();
        Assert.False(churn.CollectIfDue(5_000 + Minute - 1));
        Assert.Equal(5_000, churn.ClosedSince);
        Assert.True(churn.CollectIfDue(5_000 + Minute));
        Assert.Equal(2, runs);
    }

    [Fact]
    public void Zero_closes_turns_it_off()
    {
        int runs = 0;
        var churn = new ChurnCollection(0, () => runs++);
        for (int i = 0; i < 100_000; i++) churn.NamespaceClosed();
        Assert.False(churn.CollectIfDue(long.MaxValue / 2));
        Assert.Equal(0, runs);
    }

    [Fact]
    public void The_real_collection_runs_a_full_gc_and_counts_it_and_its_pause()
    {
        var churn = new ChurnCollection(1);
        int gen2Before = GC.CollectionCount(2);
        double countBefore = LoopMetrics.GcAfterCloses.Value, secondsBefore = LoopMetrics.GcAfterClosesSeconds.Value;

        churn.NamespaceClosed();
        Assert.True(churn.CollectIfDue(MonotonicClock.Now));

        Assert.True(GC.CollectionCount(2) > gen2Before);
        Assert.True(LoopMetrics.GcAfterCloses.Value >= countBefore + 1);
        Assert.True(LoopMetrics.GcAfterClosesSeconds.Value > secondsBefore);
    }
}
