using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging.Abstractions;
using XtcpEpoll.Loop;
using XtcpEpoll.Loop.Dumps;
using XtcpEpoll.Loop.Namespaces;
using XtcpEpoll.Loop.Polling;
using XtcpEpoll.Netlink.Native;
using XtcpEpoll.Sinks.Records;
using Xunit;

namespace XtcpEpoll.Tests.Loop;

/// <summary>One lane driven directly, reading the frames it writes (real sock_diag sockets of this namespace).</summary>
public sealed class LaneTests
{
    [Fact]
    public async Task A_namespace_still_discarding_a_timed_out_dump_is_a_timeout_and_the_others_are_still_dumped()
    {
        var discarding = Handle(1);
        var healthy = Handle(2);
        var (frames, counts) = await RunOnePoll([discarding, healthy], lane =>
        {
            // A dump that timed out in an earlier poll and whose DONE never came (its request was never sent).
            // (its own table: the walk is sent at once, without waiting for the lane's walk budget)
            var dump = new NamespaceDump(discarding.Id, discarding.Name, lane.DumpContext, tcpEhashEntries: 1024);
            discarding.GiveDump(dump);
            dump.Schedule();
            dump.Start(0);
            Assert.Equal(DumpStep.Ended(DumpEnd.Timeout), dump.OnDeadline());
            lane.DumpContext.TakeCounts();
        }, lane => { });

        Assert.Contains((FrameKind.NamespaceEnd, 0, (int)DumpEnd.Timeout), frames);
        Assert.Contains((FrameKind.NamespaceEnd, 1, (int)DumpEnd.Done), frames);
        Assert.Contains(frames, f => f.Kind == FrameKind.Datagram && f.NsIndex == 1);
        Assert.Single(frames, f => f.Kind == FrameKind.LaneDone);
        Assert.Equal(1, counts.Timeouts); // the lane reports a timeout
        Assert.Equal(DumpState.Discarding, discarding.Dump.State); // still draining, no second dump on that socket
    }

    [Fact]
    public async Task A_poll_whose_every_namespace_is_still_discarding_ends_once_without_a_request()
    {
        // Every namespace ends inside StartPoll, in the loop that schedules them: the poll ends after that loop
        // (the lane's one end point), once, and nothing is sent or read.
        var handles = new[] { Handle(1), Handle(2), Handle(3) };
        var (frames, counts) = await RunOnePoll(handles, lane =>
        {
            foreach (var handle in handles)
            {
                var dump = new NamespaceDump(handle.Id, handle.Name, lane.DumpContext, tcpEhashEntries: 1024);
                handle.GiveDump(dump);
                dump.Schedule();
                dump.Start(0);
                dump.OnDeadline(); // discarding a dump whose DONE never comes
            }
            lane.DumpContext.TakeCounts();
        }, lane => { });

        Assert.Equal([(FrameKind.NamespaceEnd, 0, (int)DumpEnd.Timeout), (FrameKind.NamespaceEnd, 1, (int)DumpEnd.Timeout),
            (FrameKind.NamespaceEnd, 2, (int)DumpEnd.Timeout), (FrameKind.LaneDone, 0, LaneCounts.Size)], frames);
        Assert.Equal((3, 0L), (counts.Timeouts, counts.Datagrams));
        Assert.All(handles, h => Assert.Equal(DumpState.Discarding, h.Dump.State));
    }

    [Fact]
    public async Task A_namespace_removed_mid_dump_is_abandoned_and_the_poll_still_ends()
    {
        var removed = Handle(1);
        var kept = Handle(2);
        // Remove is queued right behind StartPoll: the lane sends both requests, then abandons the first dump.
        var (frames, counts) = await RunOnePoll([removed, kept], lane => { }, lane => lane.Post(new LaneCommand.Remove(removed)));

        Assert.Contains((FrameKind.NamespaceEnd, 0, (int)DumpEnd.Abandoned), frames);
        Assert.DoesNotContain(frames, f => f.Kind == FrameKind.Datagram && f.NsIndex == 0);
        Assert.Contains((FrameKind.NamespaceEnd, 1, (int)DumpEnd.Done), frames);
        Assert.Equal(FrameKind.LaneDone, frames[^1].Kind);
        Assert.Equal((0, 0, 1), (counts.Timeouts, counts.DumpErrors, counts.Abandoned));
        Assert.True(removed.Removed);
    }

    [Fact]
    public async Task A_removed_namespace_closes_its_destroy_socket_and_tells_the_parse_worker()
    {
        var removed = Handle(1, destroyEvents: true);
        var (frames, _) = await RunOnePoll([removed, Handle(2)], lane => { }, lane => lane.Post(new LaneCommand.Remove(removed)));

        Assert.Contains((FrameKind.NamespaceGone, 0, sizeof(ulong)), frames);
        Assert.True(removed.DestroyFd!.IsClosed);
        Assert.True(removed.SocketFd.IsClosed);
    }

    [Fact]
    public void Destroy_events_lost_on_a_full_socket_are_counted_exactly_and_make_the_namespace_walk()
    {
        using var farm = new TestNamespaceFarm("lane-destroy");
        var ns = farm.Create(SocketKit.None);
        var listener = farm.RunInside(ns, () => DestroyEventTests.Listen(ns, System.Net.IPAddress.Loopback));
        // The smallest receive buffer the kernel allows (~2 KiB): one or two 1,280-byte events fit.
        var (dumpFd, destroyFd) = farm.RunInside(ns, () => (NetlinkSocket.OpenSockDiag(out _)!, NetlinkSocket.OpenDestroyEvents(1, out _)!));
        var handle = new NamespaceHandle { Id = 5, Inode = ns.Inode, Name = ns.Name, SocketFd = dumpFd, DestroyFd = destroyFd, Lane = 0, TcpEhashEntries = -1 };
        const int closed = 2 * 40;

        // The lane drains destroy events as they come, so on a quick lane a slow stream of them never fills
        // even a 2 KiB buffer. This run stalls the lane on its first unread frame (the test reads only inside
        // Poll), so the events behind it queue in the kernel until it drops some: the loss is certain, not a race.
        using var run = new LaneRun([handle], stallOnUnreadFrames: true);
        var first = run.Poll(); // the namespace's first walk
        farm.RunInside(ns, () => { for (int i = 0; i < closed / 2; i++) DestroyEventTests.ShortConnection(listener, 10, 10); return 0; });
        var dropsDeadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (NetlinkSocket.Drops(destroyFd) <= 0 && DateTime.UtcNow < dropsDeadline)
            Thread.Sleep(10); // polls the kernel's drop counter: the event awaited has no notification of its own
        Assert.True(NetlinkSocket.Drops(destroyFd) > 0, "the kernel dropped no destroy event on a 2 KiB buffer behind a stalled lane");
        long lost = 0;
        int events = first.Frames.Count(f => f.Kind == FrameKind.DestroyEvent), overflowWalks = 0, firstLoss = -1;
        var polls = new List<LaneCounts>();
        // The kernel sends destroy events from a workqueue, later under load: poll (paced) until each end is
        // accounted for, or fail after the wait.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (events + lost < closed && DateTime.UtcNow < deadline)
        {
            Thread.Sleep(20); // pacing, not synchronisation: the condition is checked after every poll
            var (frames, counts) = run.Poll();
            polls.Add(counts);
            events += frames.Count(f => f.Kind == FrameKind.DestroyEvent);
            lost += counts.DestroyEventsLost;
            if (firstLoss < 0 && counts.DestroyEventsLost > 0) firstLoss = polls.Count - 1;
        }
        if (firstLoss >= 0) // heard before this poll's LaneDone: this poll or the next one walks for it
        {
            polls.Add(run.Poll().Counts);
            overflowWalks = polls[firstLoss].Walks[(int)WalkReason.DestroyOverflow] + polls[firstLoss + 1].Walks[(int)WalkReason.DestroyOverflow];
        }

        Assert.Equal(closed, events + lost); // each end: a frame, or counted from the kernel's drop count
        Assert.True(lost > 0, "a 2 KiB buffer cannot hold 80 events");
        Assert.Equal(1, overflowWalks);
    }

    /// <summary>A lane kept running over several polls, its frames read by the test.</summary>
    private sealed class LaneRun : IDisposable
    {
        private readonly Pipe _pipe;
        private readonly Lane _lane;
        private readonly NamespaceHandle[] _handles;
        private int _pollId;

        /// <param name="stallOnUnreadFrames">The lane's flush blocks while any frame is unread (outside Poll),
        /// as a parse worker that falls behind would make it.</param>
        public LaneRun(NamespaceHandle[] handles, bool stallOnUnreadFrames = false)
        {
            _handles = handles;
            _pipe = new Pipe(stallOnUnreadFrames
                ? new PipeOptions(pauseWriterThreshold: 1, resumeWriterThreshold: 1, useSynchronizationContext: false)
                : new PipeOptions(pauseWriterThreshold: 0, useSynchronizationContext: false));
            // Walks on an interval: a loss then shows as a walk of its own reason (with interval 0 every poll walks anyway).
            _lane = new Lane(0, new CollectorOptions { WalkInterval = TimeSpan.FromMinutes(1) }, _pipe.Writer, new PlanSlot(), new EventSources(), _ => { }, NullLogger.Instance);
            foreach (var handle in handles) _lane.Post(new LaneCommand.Add(handle));
            _lane.Start();
        }

        public (List<(FrameKind Kind, int NsIndex, int Value)> Frames, LaneCounts Counts) Poll()
        {
            _lane.Post(new LaneCommand.StartPoll(new LanePlan
            {
                PollId = ++_pollId,
                StartTimestamp = Stopwatch.GetTimestamp(),
                Targets = _handles,
                Contexts = [.. _handles.Select(Context)],
                Deadline = Stopwatch.GetTimestamp() + 10 * Stopwatch.Frequency,
                TimeoutTicks = 10 * Stopwatch.Frequency,
            }));
            var frames = new List<(FrameKind Kind, int NsIndex, int Value)>();
            var counts = default(LaneCounts);
            while (frames.Count == 0 || frames[^1].Kind != FrameKind.LaneDone)
            {
                var result = _pipe.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(20)).GetAwaiter().GetResult();
                var buffer = result.Buffer;
                TakeFrames(ref buffer, frames, ref counts);
                _pipe.Reader.AdvanceTo(buffer.Start, buffer.End);
            }
            return (frames, counts);
        }

        public void Dispose()
        {
            _lane.Post(new LaneCommand.Stop());
            _pipe.Reader.Complete(); // releases a lane stalled on unread frames
            _lane.Join();
            _lane.Dispose();
        }
    }

    /// <summary>
    /// Adds the handles to a fresh lane (after <paramref name="prepare"/>), starts one poll (then
    /// <paramref name="afterStart"/>), returns the frames up to LaneDone and the counts LaneDone carries.
    /// </summary>
    private static async Task<(List<(FrameKind Kind, int NsIndex, int Value)> Frames, LaneCounts Counts)> RunOnePoll(
        NamespaceHandle[] handles, Action<Lane> prepare, Action<Lane> afterStart, TimeSpan? timeout = null)
    {
        long timeoutTicks = (long)((timeout ?? TimeSpan.FromSeconds(10)).TotalSeconds * Stopwatch.Frequency);
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 0, useSynchronizationContext: false));
        var lane = new Lane(0, new CollectorOptions(), pipe.Writer, new PlanSlot(), new EventSources(), _ => { }, NullLogger.Instance);
        var frames = new List<(FrameKind Kind, int NsIndex, int Value)>();
        var counts = default(LaneCounts);
        bool started = false;
        try
        {
            prepare(lane);
            foreach (var handle in handles) lane.Post(new LaneCommand.Add(handle));
            lane.Post(new LaneCommand.StartPoll(new LanePlan
            {
                PollId = 1,
                StartTimestamp = Stopwatch.GetTimestamp(),
                Targets = handles,
                Contexts = [.. handles.Select(Context)],
                Deadline = Stopwatch.GetTimestamp() + timeoutTicks,
                TimeoutTicks = timeoutTicks,
            }));
            afterStart(lane);
            lane.Start(); started = true; // commands posted before the thread runs are handled in one batch, in order
            while (frames.Count == 0 || frames[^1].Kind != FrameKind.LaneDone)
            {
                var result = await pipe.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(20));
                var buffer = result.Buffer;
                TakeFrames(ref buffer, frames, ref counts);
                pipe.Reader.AdvanceTo(buffer.Start, buffer.End);
            }
        }
        finally
        {
            lane.Post(new LaneCommand.Stop());
            if (started) lane.Join();
            else foreach (var handle in handles) handle.SocketFd.Dispose();
            lane.Dispose();
        }
        return (frames, counts);
    }

    private static void TakeFrames(ref ReadOnlySequence<byte> buffer, List<(FrameKind Kind, int NsIndex, int Value)> frames, ref LaneCounts counts)
    {
        Span<byte> bytes = stackalloc byte[FrameHeader.Size];
        while (buffer.Length >= FrameHeader.Size)
        {
            buffer.Slice(0, FrameHeader.Size).CopyTo(bytes);
            var header = MemoryMarshal.Read<FrameHeader>(bytes);
            int length = FrameHeader.Size + header.PayloadLength;
            if (buffer.Length < length) return;
            frames.Add((header.Kind, header.NsIndex, header.Value));
            if (header.Kind == FrameKind.LaneDone) counts = MemoryMarshal.Read<LaneCounts>(buffer.Slice(FrameHeader.Size, header.PayloadLength).ToArray());
            buffer = buffer.Slice(length);
        }
    }

    [Fact]
    public async Task Namespaces_whose_counters_cannot_be_read_or_parsed_are_counted_and_still_walk()
    {
        var garbage = Path.GetTempFileName();
        File.WriteAllText(garbage, "not sockstat\n");
        try
        {
            var unreadable = Handle(1, counters: TcpCounterFiles.Open("/dev/null", "/dev/null", out _)); // reads nothing
            var malformed = Handle(2, counters: TcpCounterFiles.Open(garbage, garbage, out _));
            var (frames, counts) = await RunOnePoll([unreadable, malformed], lane => { }, lane => { });

            Assert.Equal((1, 1), (counts.CounterReadFailures, counts.CounterParseFailures));
            Assert.Equal(2, counts.Walks[(int)WalkReason.First]); // the first walks go ahead without counters
            Assert.Contains((FrameKind.NamespaceEnd, 0, (int)DumpEnd.Done), frames);
            Assert.Contains((FrameKind.NamespaceEnd, 1, (int)DumpEnd.Done), frames);
            Assert.True(unreadable.Removed && malformed.Removed); // the lane closed them at Stop (counter files too)
        }
        finally
        {
            File.Delete(garbage);
        }
    }

    [Fact]
    public async Task Walks_that_do_not_fit_the_poll_are_deferred_not_timed_out()
    {
        // A 100 ns timeout: the budget's cut-off (deadline - timeout/10) has passed when the lane, still handling
        // StartPoll, sees the three ask for their first walks; the deadline's timer cannot fire before that.
        var handles = new[] { Handle(1), Handle(2), Handle(3) };
        var (frames, counts) = await RunOnePoll(handles, lane => { }, lane => { }, timeout: TimeSpan.FromTicks(1));

        Assert.Equal((3, 0), (counts.WalksDeferred, counts.Timeouts));
        for (int i = 0; i < 3; i++) Assert.Contains((FrameKind.NamespaceEnd, i, (int)DumpEnd.Done), frames);
        Assert.DoesNotContain(frames, f => f.Kind == FrameKind.Datagram); // nothing was walked
        Assert.All(handles, h => Assert.Equal(WalkReason.First, h.Dump.RequestedWalk ?? WalkReason.First));
    }

    [Fact]
    public async Task Walks_within_the_budget_are_granted_in_one_poll()
    {
        var handles = new[] { Handle(1), Handle(2), Handle(3) };
        var (frames, counts) = await RunOnePoll(handles, lane => { }, lane => { });

        Assert.Equal((0, 3), (counts.WalksDeferred, counts.Walks[(int)WalkReason.First]));
        for (int i = 0; i < 3; i++) Assert.Contains(frames, f => f.Kind == FrameKind.Datagram && f.NsIndex == i);
    }

    private static NamespaceHandle Handle(ulong id, bool destroyEvents = false, TcpCounterFiles? counters = null)
    {
        var fd = NetlinkSocket.OpenSockDiag(out int errno);
        Assert.True(fd != null, $"OpenSockDiag: errno {errno}");
        var destroyFd = destroyEvents ? NetlinkSocket.OpenDestroyEvents(1 << 16, out errno) : null;
        Assert.True(!destroyEvents || destroyFd != null, $"OpenDestroyEvents: errno {errno}");
        return new NamespaceHandle { Id = id, Inode = id, Name = $"lane-test-{id}", SocketFd = fd, DestroyFd = destroyFd, Lane = 0, Counters = counters };
    }

    private static RecordContext Context(NamespaceHandle handle) =>
        new() { Hostname = "h", Netns = handle.Name, NetnsInode = handle.Inode, TimestampNs = 1 };
}
