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
        var budget = Budget(timeoutMs: 1000);
        budget.Add(target: 0, unknownSockets: 1, lastWalk: 50, OneMsNs);
        budget.Add(target: 1, unknownSockets: 7, lastWalk: 90, OneMsNs);
        budget.Add(target: 2, unknownSockets: 1, lastWalk: 10, OneMsNs);
        budget.Add(target: 3, unknownSockets: 1, lastWalk: long.MinValue, OneMsNs); // never walked
        budget.Order();

        var granted = new List<int>();
        while (budget.TryGrant(now: 1, out int target)) granted.Add(target);
        Assert.Equal([1, 3, 2, 0], granted);
    }

    [Fact]
    public void What_does_not_fit_before_the_cut_off_is_deferred_with_everything_after_it()
    {
        var budget = Budget(timeoutMs: 100); // cut-off at 80 ms
        for (int i = 0; i < 10; i++) budget.Add(i, 1, 0, 10 * OneMsNs);
        budget.Order();

        var granted = new List<int>();
        while (budget.TryGrant(now: 1, out int target)) granted.Add(target);
        Assert.Equal(7, granted.Count); // 7 x 10 ms from t = 1 tick; an 8th would end a tick past the cut-off
        var deferred = new List<int>();
        while (budget.TakeDeferred(out int target)) deferred.Add(target);
        Assert.Equal([7, 8, 9], deferred);
        Assert.Equal(0, budget.Waiting);
    }

    [Fact]
    public void Nothing_is_granted_at_or_after_the_cut_off_and_the_first_walk_is_judged_by_the_clock()
    {
        var budget = Budget(timeoutMs: 100);
        budget.Add(0, 1, 0, 500 * OneMsNs); // estimated longer than the whole poll
        budget.Add(1, 1, 0, OneMsNs);
        budget.Order();
        Assert.True(budget.TryGrant(now: 1, out int first)); // a lane always makes progress early in a poll
        Assert.Equal(0, first);
        Assert.False(budget.TryGrant(now: 2, out _)); // the timeline is spent

        var late = Budget(timeoutMs: 100);
        late.Add(0, 1, 0, OneMsNs);
        Assert.False(late.TryGrant(now: late.Cutoff, out _));
    }

    [Fact]
    public void Walks_dearer_than_modelled_correct_the_estimate_at_once_cheaper_ones_halfway()
    {
        var budget = Budget(timeoutMs: 1000);
        for (int i = 0; i < 10; i++) budget.Add(i, 1, 0, OneMsNs);
        budget.Order();
        while (budget.TryGrant(now: 1, out _)) { }
        budget.WalkEnded(1 + 30 * Ms); // 10 modelled ms took 30
        budget.EndPoll();
        Assert.Equal(3.0, budget.Correction, 1);

        budget.StartPoll(deadline: 1000 * Ms, timeoutTicks: 1000 * Ms);
        for (int i = 0; i < 10; i++) budget.Add(i, 1, 0, OneMsNs);
        budget.Order();
        while (budget.TryGrant(now: 1, out _)) { }
        budget.WalkEnded(1 + 10 * Ms); // as modelled
        budget.EndPoll();
        Assert.Equal(2.0, budget.Correction, 1);
    }

    [Fact]
    public void A_corrected_estimate_grants_fewer_walks()
    {
        var budget = Budget(timeoutMs: 100);
        for (int i = 0; i < 20; i++) budget.Add(i, 1, 0, OneMsNs);
        budget.Order();
        while (budget.TryGrant(now: 1, out _)) { }
        budget.WalkEnded(1 + 80 * Ms); // 20 modelled ms took 80
        budget.EndPoll();

        budget.StartPoll(deadline: 100 * Ms, timeoutTicks: 100 * Ms);
        for (int i = 0; i < 40; i++) budget.Add(i, 1, 0, OneMsNs);
        budget.Order();
        int granted = 0;
        while (budget.TryGrant(now: 1, out _)) granted++;
        Assert.Equal(19, granted); // 80 ms of cut-off from t = 1 tick at 4 ms each (20 without the correction: 40)
    }

    private static WalkBudget Budget(long timeoutMs)
    {
        var budget = new WalkBudget();
        budget.StartPoll(deadline: timeoutMs * Ms, timeoutTicks: timeoutMs * Ms);
        return budget;
    }
}
