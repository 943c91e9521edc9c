using System.Diagnostics;
using XtcpEpoll.Loop.Polling;
using Xunit;

namespace XtcpEpoll.Tests.Loop.Polling;

/// <summary>The lane's walk budget without a lane (no root): order, cut-off, deferral, measured correction.</summary>
public sealed class WalkBudgetTests
{
    private static readonly long Ms = Stopwatch.Frequency / 1000;
    private const double OneMsNs = 1_000_000;

    [Fact]
    public void Walks_are_granted_most_unknown_sockets_first_then_the_longest_unwalked()
    {
        var budget = Calibrated(timeoutMs: 1000);
        budget.Add(target: 0, unknownSockets: 1, lastWalk: 50, OneMsNs);
        budget.Add(target: 1, unknownSockets: 7, lastWalk: 90, OneMsNs);
        budget.Add(target: 2, unknownSockets: 1, lastWalk: 10, OneMsNs);
        budget.Add(target: 3, unknownSockets: 1, lastWalk: long.MinValue, OneMsNs); // never walked
        budget.Order();

        var granted = new List<int>();
        while (budget.TryGrant(now: 1, out int target) == WalkGrant.Granted) granted.Add(target);
        Assert.Equal([1, 3, 2, 0], granted);
    }

    [Fact]
    public void What_does_not_fit_before_the_cut_off_is_deferred_with_everything_after_it()
    {
        var budget = Calibrated(timeoutMs: 100); // cut-off at 80 ms
        for (int i = 0; i < 10; i++) budget.Add(i, 1, 0, 10 * OneMsNs);
        budget.Order();

        var granted = new List<int>();
        WalkGrant grant;
        while ((grant = budget.TryGrant(now: 1, out int target)) == WalkGrant.Granted) granted.Add(target);
        Assert.Equal(WalkGrant.Defer, grant);
        Assert.Equal(7, granted.Count); // 7 x 10 ms from t = 1 tick; an 8th would end a tick past the cut-off
        var deferred = new List<int>();
        while (budget.TakeDeferred(out int target)) deferred.Add(target);
        Assert.Equal([7, 8, 9], deferred);
        Assert.Equal(0, budget.Waiting);
    }

    [Fact]
    public void Nothing_is_granted_at_or_after_the_cut_off_and_the_first_walk_is_judged_by_the_clock()
    {
        var budget = Calibrated(timeoutMs: 100);
        budget.Add(0, 1, 0, 500 * OneMsNs); // estimated longer than the whole poll
        budget.Add(1, 1, 0, OneMsNs);
        budget.Order();
        Assert.Equal(WalkGrant.Granted, budget.TryGrant(now: 1, out int first)); // a lane always makes progress early in a poll
        Assert.Equal(0, first);
        Assert.Equal(WalkGrant.Defer, budget.TryGrant(now: 2, out _)); // the timeline is spent

        var late = Calibrated(timeoutMs: 100);
        late.Add(0, 1, 0, OneMsNs);
        Assert.Equal(WalkGrant.Defer, late.TryGrant(now: late.Cutoff, out _));
    }

    [Fact]
    public void Before_anything_is_measured_a_few_walks_go_first_and_the_rest_wait_for_them()
    {
        var budget = new WalkBudget();
        budget.StartPoll(deadline: 1000 * Ms, timeoutTicks: 1000 * Ms);
        for (int i = 0; i < 50; i++) budget.Add(i, 1, 0, OneMsNs);
        budget.Order();
        for (int i = 0; i < 4; i++) Assert.Equal(WalkGrant.Granted, budget.TryGrant(now: 1, out _));
        Assert.Equal(WalkGrant.Wait, budget.TryGrant(now: 1, out _));
        for (int i = 0; i < 4; i++) budget.WalkEnded(i, 1 + 4 * Ms); // as modelled
        Assert.Equal(WalkGrant.Granted, budget.TryGrant(now: 1 + 4 * Ms, out _));
    }

    [Fact]
    public void Walks_dearer_than_modelled_in_this_very_poll_stop_the_grants_before_they_overrun_it()
    {
        var budget = new WalkBudget(); // the model says 1 ms a walk; nothing measured yet
        budget.StartPoll(deadline: 100 * Ms, timeoutTicks: 100 * Ms); // cut-off at 80 ms
        for (int i = 0; i < 50; i++) budget.Add(i, 1, 0, OneMsNs);
        budget.Order();
        for (int i = 0; i < 4; i++) Assert.Equal(WalkGrant.Granted, budget.TryGrant(now: 1, out _));
        for (int i = 0; i < 4; i++) budget.WalkEnded(i, 1 + 40 * Ms); // they took 10 ms each

        int more = 0;
        while (budget.TryGrant(now: 1 + 40 * Ms, out _) == WalkGrant.Granted) more++;
        Assert.Equal(3, more); // 40 ms left at 10 ms a walk, all in flight at once: 3 fit with a tick to spare, not 39
    }

    [Fact]
    public void Walks_dearer_than_modelled_correct_the_estimate_at_once_cheaper_ones_halfway()
    {
        var budget = new WalkBudget();
        budget.StartPoll(deadline: 1000 * Ms, timeoutTicks: 1000 * Ms);
        RunPhase(budget, walks: 10, tookMs: 30); // 10 modelled ms took 30
        Assert.Equal(3.0, budget.Correction, 1);

        budget.StartPoll(deadline: 1000 * Ms, timeoutTicks: 1000 * Ms);
        RunPhase(budget, walks: 10, tookMs: 10); // as modelled
        Assert.Equal(2.0, budget.Correction, 1);
    }

    [Fact]
    public void A_corrected_estimate_grants_fewer_walks()
    {
        var budget = new WalkBudget();
        budget.StartPoll(deadline: 1000 * Ms, timeoutTicks: 1000 * Ms);
        RunPhase(budget, walks: 20, tookMs: 80); // 20 modelled ms took 80

        budget.StartPoll(deadline: 100 * Ms, timeoutTicks: 100 * Ms);
        for (int i = 0; i < 40; i++) budget.Add(i, 1, 0, OneMsNs);
        budget.Order();
        int granted = 0;
        while (budget.TryGrant(now: 1, out _) == WalkGrant.Granted) granted++;
        Assert.Equal(19, granted); // 80 ms of cut-off from t = 1 tick at 4 ms each (without the correction: 40)
    }

    /// <summary>
    /// Grants <paramref name="walks"/> 1 ms (modelled) walks one after the other from t = 1 tick, each ending
    /// before the next starts, all within <paramref name="tookMs"/>; then ends the poll.
    /// </summary>
    private static void RunPhase(WalkBudget budget, int walks, long tookMs)
    {
        for (int i = 0; i < walks; i++) budget.Add(i, 1, 0, OneMsNs);
        budget.Order();
        long each = tookMs * Ms / walks, now = 1;
        for (int i = 0; i < walks; i++)
        {
            Assert.Equal(WalkGrant.Granted, budget.TryGrant(now, out int target));
            now += each;
            budget.WalkEnded(target, now);
        }
        budget.EndPoll();
    }

    /// <summary>A budget whose lane has measured walks costing what the model says, at the start of a poll of <paramref name="timeoutMs"/>.</summary>
    private static WalkBudget Calibrated(long timeoutMs)
    {
        var budget = new WalkBudget();
        budget.StartPoll(deadline: 1000 * Ms, timeoutTicks: 1000 * Ms);
        RunPhase(budget, walks: 10, tookMs: 10);
        budget.StartPoll(deadline: timeoutMs * Ms, timeoutTicks: timeoutMs * Ms);
        return budget;
    }
}
