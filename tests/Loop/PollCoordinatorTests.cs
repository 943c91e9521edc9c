using Microsoft.Extensions.Logging.Abstractions;
using XtcpEpoll.Loop;
using XtcpEpoll.Loop.Control;
using XtcpEpoll.Loop.Dumps;
using XtcpEpoll.Loop.Namespaces;
using XtcpEpoll.Loop.Polling;
using XtcpEpoll.Netlink.Native;
using XtcpEpoll.Netlink.Parsing;
using XtcpEpoll.Sinks.Batching;
using XtcpEpoll.Sinks.Records;
using Xunit;

namespace XtcpEpoll.Tests.Loop;

/// <summary>Polls from start to end on the control thread, with recording lanes and a recording sink (no threads, no fds).</summary>
public sealed class PollCoordinatorTests
{
    [Fact]
    public void Namespaces_go_to_the_lane_with_the_fewest()
    {
        var (polls, lanes, _) = New(lanes: 2);
        var handles = Enumerable.Range(0, 4).Select(i => polls.Attach(Entry(i), NoFd, inode: (ulong)i, tcpEhashEntries: -1)).ToList();

        Assert.Equal([0, 1, 0, 1], handles.Select(h => h.Lane));
        polls.Detach(handles[0]);
        Assert.Equal(0, polls.Attach(Entry(9), NoFd, 9, 1024).Lane);
        Assert.Equal((4, 3), (polls.NamespacesOpen, polls.NamespacesSharingHostTable));
        Assert.Equal(["Add", "Add", "Remove", "Add"], lanes[0].Commands.Select(c => c.GetType().Name));
    }

    [Fact]
    public void Every_lane_gets_its_part_of_the_poll_and_a_tick_while_it_runs_is_skipped()
    {
        var (polls, lanes, _) = New(lanes: 2);
        var entries = Enumerable.Range(0, 3).Select(Entry).ToList();
        foreach (var entry in entries) entry.Handle = polls.Attach(entry, NoFd, entry.Inode, 0);
        entries.Add(Entry(7)); // known, not open: not polled

        Assert.True(polls.TryStart(entries));
        var plans = lanes.Select(l => Assert.IsType<LaneCommand.StartPoll>(l.Commands[^1]).Plan).ToList();
        Assert.Equal([2, 1], plans.Select(p => p.Targets.Length));
        Assert.All(plans, p => Assert.Equal(plans[0].PollId, p.PollId));
        Assert.Equal(["ns-0", "ns-2"], plans[0].Contexts.Select(c => c.Netns));

        Assert.False(polls.TryStart(entries)); // polls never overlap
        Assert.Single(lanes[0].Commands, c => c is LaneCommand.StartPoll);
    }

    [Fact]
    public void The_poll_ends_once_when_its_last_lane_reports_with_every_lanes_counts_summed()
    {
        var (polls, _, sink) = New(lanes: 3);
        Assert.True(polls.TryStart([]));

        Assert.Null(polls.OnLaneDone(0, 1, new LaneCounts { Records = 10, DumpErrors = 1 }));
        Assert.Null(polls.OnLaneDone(2, 1, new LaneCounts { Records = 5 }));
        Assert.Empty(sink.Ends); // not before every lane's records were appended
        var summary = polls.OnLaneDone(1, 1, new LaneCounts { Records = 1 });

        Assert.Equal(new PollSummary(1, summary!.Value.TimestampNs, 0, 16, false, 1), summary);
        Assert.Equal([FlushReason.PollEnd], sink.Ends);
        Assert.Equal(1, polls.PollsCompleted);
        Assert.False(polls.PollRunning);
        Assert.True(polls.TryStart([]));
    }

    [Fact]
    public void Destroy_events_and_walks_are_summed_and_the_next_plan_carries_the_polls_socket_count()
    {
        var (polls, lanes, _) = New(lanes: 2);
        polls.TryStart([]);
        var one = new LaneCounts { Records = 70, DestroyEvents = 3, DestroyEventsLost = 1 };
        one.CountWalk(WalkReason.Interval);
        one.CountWalk(WalkReason.Interval);
        var two = new LaneCounts { Records = 30, DestroyEvents = 4 };
        two.CountWalk(WalkReason.Interval);
        polls.OnLaneDone(0, 1, one);
        var summary = polls.OnLaneDone(1, 1, two)!.Value;

        Assert.Equal((100, 7, 1), (summary.Sockets, summary.DestroyEvents, summary.DestroyEventsLost));
        polls.TryStart([]);
        Assert.All(lanes, l => Assert.Equal(100, Assert.IsType<LaneCommand.StartPoll>(l.Commands[^1]).Plan.HostSockets));
    }

    [Fact]
    public void Destroy_records_carry_their_namespaces_identity_before_its_first_poll_and_its_latest_context_after()
    {
        var (polls, lanes, _) = New(lanes: 1);
        var entry = Entry(3);
        entry.Handle = polls.Attach(entry, NoFd, entry.Inode, -1, destroySocket: NoFd);
        Assert.Equal(("ns-3", 3UL, 0L), (entry.Handle.EventContext!.Netns, entry.Handle.EventContext.NetnsInode, entry.Handle.EventContext.TimestampNs));

        polls.TryStart([entry]);
        var plan = Assert.IsType<LaneCommand.StartPoll>(lanes[0].Commands[^1]).Plan;
        Assert.Same(plan.Contexts[0], entry.Handle.EventContext);
        Assert.NotNull(entry.Handle.DestroyFd);
    }

    [Fact]
    public void A_poll_with_a_timed_out_namespace_ends_as_a_timeout()
    {
        var (polls, _, sink) = New(lanes: 1);
        polls.TryStart([]);
        var summary = polls.OnLaneDone(0, 1, new LaneCounts { Timeouts = 2 });

        Assert.True(summary!.Value.TimedOut);
        Assert.Equal([FlushReason.PollTimeout], sink.Ends);
    }

    [Fact]
    public void A_report_for_no_running_poll_or_a_second_report_of_a_lane_is_a_bug_and_fails_fast()
    {
        var (polls, _, _) = New(lanes: 2);
        Assert.Throws<InvalidOperationException>(() => polls.OnLaneDone(0, 1, default));
        polls.TryStart([]);
        Assert.Throws<InvalidOperationException>(() => polls.OnLaneDone(0, 2, default));
        polls.OnLaneDone(0, 1, default);
        Assert.Throws<InvalidOperationException>(() => polls.OnLaneDone(0, 1, default));
    }

    private static (PollCoordinator Polls, List<RecordingLane> Lanes, RecordingSink Sink) New(int lanes)
    {
        var mailboxes = Enumerable.Range(0, lanes).Select(_ => new RecordingLane()).ToList();
        var sink = new RecordingSink();
        var options = new CollectorOptions { Workers = lanes, Hostname = "h" };
        return (new PollCoordinator(options, mailboxes, sink, new ParseErrorCounters(), NullLogger.Instance), mailboxes, sink);
    }

    /// <summary>A socket stand-in that owns no fd (the coordinator only hands it to a lane).</summary>
    private static OwnedFd NoFd => new(-1);

    private static NamespaceEntry Entry(int i) => new() { Inode = (ulong)i, Name = $"ns-{i}", OpenPath = $"/run/x/ns-{i}" };

    private sealed class RecordingLane : ILaneMailbox
    {
        public List<LaneCommand> Commands { get; } = new();
        public void Post(LaneCommand command) => Commands.Add(command);
    }

    private sealed class RecordingSink : IRecordSink
    {
        public List<FlushReason> Ends { get; } = new();
        public void Append(ReadOnlySpan<FlatRecord> records) { }
        public void EndOfPoll(FlushReason reason) => Ends.Add(reason);
        public Task ShutdownAsync(TimeSpan timeout) => Task.CompletedTask;
    }
}
