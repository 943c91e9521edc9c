using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging.Abstractions;
using XtcpEpoll.Loop;
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
        var discarding = Handle(1, DumpState.Discarding);
        var healthy = Handle(2, DumpState.Idle);
        var frames = await RunOnePoll([discarding, healthy], lane => { });

        Assert.Contains((FrameKind.NamespaceEnd, 0, (int)DumpEnd.Timeout), frames);
        Assert.Contains((FrameKind.NamespaceEnd, 1, (int)DumpEnd.Done), frames);
        Assert.Contains(frames, f => f.Kind == FrameKind.Datagram && f.NsIndex == 1);
        Assert.Single(frames, f => f.Kind == FrameKind.LaneDone);
        Assert.Equal(1, frames[^1].Value); // the lane reports a timeout
        Assert.Equal(DumpState.Discarding, discarding.State); // still draining, no second dump on that socket
    }

    [Fact]
    public async Task A_namespace_removed_mid_dump_is_abandoned_and_the_poll_still_ends()
    {
        var removed = Handle(1, DumpState.Idle);
        var kept = Handle(2, DumpState.Idle);
        // Remove is queued right behind StartPoll: the lane sends both requests, then abandons the first dump.
        var frames = await RunOnePoll([removed, kept], lane => lane.Post(new LaneCommand.Remove(removed)));

        Assert.Contains((FrameKind.NamespaceEnd, 0, (int)DumpEnd.Abandoned), frames);
        Assert.DoesNotContain(frames, f => f.Kind == FrameKind.Datagram && f.NsIndex == 0);
        Assert.Contains((FrameKind.NamespaceEnd, 1, (int)DumpEnd.Done), frames);
        Assert.Equal((FrameKind.LaneDone, 0, 0), frames[^1]);
        Assert.True(removed.Removed);
    }

    /// <summary>Adds the handles to a fresh lane, starts one poll (then <paramref name="afterStart"/>), returns the frames up to LaneDone.</summary>
    private static async Task<List<(FrameKind Kind, int NsIndex, int Value)>> RunOnePoll(NamespaceHandle[] handles, Action<Lane> afterStart)
    {
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 0, useSynchronizationContext: false));
        var lane = new Lane(0, new CollectorOptions(), pipe.Writer, new ConcurrentQueue<LanePlan>(), _ => { }, NullLogger.Instance);
        var frames = new List<(FrameKind Kind, int NsIndex, int Value)>();
        bool started = false;
        try
        {
            foreach (var handle in handles) lane.Post(new LaneCommand.Add(handle));
            var poll = new PollTracker { PollId = 1, TimestampNs = 1, StartTimestamp = Stopwatch.GetTimestamp(), Namespaces = handles.Length, LanesRemaining = 1 };
            lane.Post(new LaneCommand.StartPoll(new LanePlan
            {
                Poll = poll,
                Targets = handles,
                Contexts = [.. handles.Select(Context)],
                Deadline = Stopwatch.GetTimestamp() + 10 * Stopwatch.Frequency,
            }));
            afterStart(lane);
            lane.Start(); started = true; // commands posted before the thread runs are handled in one batch, in order
            while (frames.Count == 0 || frames[^1].Kind != FrameKind.LaneDone)
            {
                var result = await pipe.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(20));
                var buffer = result.Buffer;
                TakeFrames(ref buffer, frames);
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
        return frames;
    }

    private static void TakeFrames(ref ReadOnlySequence<byte> buffer, List<(FrameKind Kind, int NsIndex, int Value)> frames)
    {
        Span<byte> bytes = stackalloc byte[FrameHeader.Size];
        while (buffer.Length >= FrameHeader.Size)
        {
            buffer.Slice(0, FrameHeader.Size).CopyTo(bytes);
            var header = MemoryMarshal.Read<FrameHeader>(bytes);
            int length = FrameHeader.Size + (header.Kind == FrameKind.Datagram ? header.Value : 0);
            if (buffer.Length < length) return;
            frames.Add((header.Kind, header.NsIndex, header.Value));
            buffer = buffer.Slice(length);
        }
    }

    private static NamespaceHandle Handle(ulong id, DumpState state)
    {
        var fd = NetlinkSocket.OpenSockDiag(out int errno);
        Assert.True(fd != null, $"OpenSockDiag: errno {errno}");
        return new NamespaceHandle { Id = id, Inode = id, Name = $"lane-test-{id}", SocketFd = fd, Lane = 0, State = state, DiscardSeq = 999_999 };
    }

    private static RecordContext Context(NamespaceHandle handle) =>
        new() { Hostname = "h", Netns = handle.Name, NetnsInode = handle.Inode, TimestampNs = 1 };
}
