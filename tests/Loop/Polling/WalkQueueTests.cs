using System.Diagnostics;
using XtcpEpoll.Loop.Polling;
using Xunit;

namespace XtcpEpoll.Tests.Loop.Polling;

/// <summary>How a lane serves the walks its namespaces wait for, without a lane (no root).</summary>
public sealed class WalkQueueTests
{
    private static readonly long Ms = Stopwatch.Frequency / 1000;
    private const double OneMsNs = 1_000_000;

    [Fact]
    public void Walks_are_served_only_once_every_turn_is_taken_and_every_namespace_left_waits_for_one()
    {
        var walks = new WalkQueue();
        walks.StartPoll(deadline: 100 * Ms, timeoutTicks: 100 * Ms);
        walks.Add(0, 1, 0, OneMsNs);
        walks.Add(1, 1, 0, OneMsNs);

        Assert.False(walks.ShouldServe(allTurnsTaken: false, namespacesLeft: 2)); // someone may still send
        Assert.False(walks.ShouldServe(allTurnsTaken: true, namespacesLeft: 3)); // someone still does its lookups
        Assert.True(walks.ShouldServe(allTurnsTaken: true, namespacesLeft: 2));
        Assert.True(walks.TryNext(now: 1, out _, out bool grant) && grant);
        walks.Left();
        Assert.Equal(1, walks.Awaiting);
        Assert.True(walks.ShouldServe(allTurnsTaken: true, namespacesLeft: 5)); // serving goes on for the rest of the poll

        walks.StartPoll(deadline: 100 * Ms, timeoutTicks: 100 * Ms);
        Assert.Equal((0, false), (walks.Awaiting, walks.Serving));
        Assert.False(walks.ShouldServe(allTurnsTaken: true, namespacesLeft: 0)); // nothing waits
    }

    [Fact]
    public void The_first_walk_that_does_not_fit_is_deferred_with_every_one_after_it_even_a_cheap_one()
    {
        var walks = new WalkQueue();
        walks.StartPoll(deadline: 100 * Ms, timeoutTicks: 100 * Ms); // cut-off at 90 ms
        walks.Add(target: 0, unknownSockets: 3, lastWalk: 0, 10 * OneMsNs);
        walks.Add(target: 1, unknownSockets: 2, lastWalk: 0, 200 * OneMsNs); // cannot fit
        walks.Add(target: 2, unknownSockets: 1, lastWalk: 0, OneMsNs); // would fit alone

        var verdicts = new List<(int, bool)>();
        while (walks.TryNext(now: 1, out int target, out bool grant)) verdicts.Add((target, grant));
        Assert.Equal([(0, true), (1, false), (2, false)], verdicts);
    }

    [Fact]
    public void Before_anything_is_measured_the_queue_waits_for_the_first_walks_to_end()
    {
        var walks = new WalkQueue();
        walks.StartPoll(deadline: 1000 * Ms, timeoutTicks: 1000 * Ms);
        for (int i = 0; i < 6; i++) walks.Add(i, 1, 0, OneMsNs);

        int granted = 0;
        while (walks.TryNext(now: 1, out _, out bool grant) && grant) granted++;
        Assert.Equal(4, granted); // then a wait: asked again after the next epoll batch
        Assert.False(walks.TryNext(now: 1, out _, out _));
        for (int i = 0; i < 4; i++) walks.WalkEnded(i, 1 + 4 * Ms);
        Assert.True(walks.TryNext(now: 1 + 4 * Ms, out _, out bool next) && next);
    }

    [Fact]
    public void Under_spread_each_walk_is_judged_alone_and_a_wait_is_a_deferral()
    {
        var walks = new WalkQueue();
        walks.StartPoll(deadline: 100 * Ms, timeoutTicks: 100 * Ms);
        walks.Add(0, 1, 0, OneMsNs);
        Assert.True(walks.GrantAlone(now: 1));

        walks.Add(1, 1, 0, OneMsNs);
        Assert.False(walks.GrantAlone(now: 95 * Ms)); // past the cut-off
        Assert.False(walks.Serving); // nothing served in order: the budget's measurement is left alone
        Assert.False(walks.TryNext(now: 1, out _, out _)); // nobody left waiting in the budget
    }
}
