using Microsoft.Extensions.Logging;
using Tmds.Linux;
using XtcpEpoll.Loop.Dumps;
using XtcpEpoll.Netlink.Native;

namespace XtcpEpoll.Loop.Polling;

/// <summary>
/// Reads a namespace's socket subscribed to TCP destroy events whenever it is readable (between polls too):
/// each datagram (one message per closed socket, ~380 bytes) goes to the parse worker as a DestroyEvent frame
/// stamped with the read time. ENOBUFS means the kernel dropped events on the full socket (and goes on
/// dropping until it is drained): the loss is counted from sk_drops once drained, and the namespace walks at
/// its next poll. Owner: the lane thread (the handles' destroy-event fields are the lane's too).
/// </summary>
internal sealed class DestroyEventReader(int laneIndex, DumpContext dumps, FrameWriter frames, ILogger logger)
{
    private const int Headers = FrameHeader.Size + DestroyEventHeader.Size;

    public void OnReadable(NamespaceHandle handle)
    {
        var socket = handle.DestroyFd!;
        for (int read = 0; read < DumpSocketReader.MaxReadsPerEvent && !handle.Removed; read++)
        {
            var frame = frames.ReceiveSpace(Headers);
            int n = NetlinkSocket.Receive(socket, frame.Slice(Headers, FrameWriter.RecvSize), out bool truncated);
            if (n < 0)
            {
                int errno = -n;
                if (errno == LibC.EAGAIN)
                {
                    if (handle.DestroyOverflowing) CountLost(handle); // drained: the episode is over
                    return;
                }
                if (errno == LibC.ENOBUFS)
                {
                    if (!handle.DestroyOverflowing) logger.LogWarning("lane {Lane}: destroy events of namespace {Name} overflowed its socket; lost events are counted and the namespace walks at its next poll", laneIndex, handle.Name);
                    handle.DestroyOverflowing = true;
                    handle.Dump.RequestWalk(WalkReason.DestroyOverflow);
                    continue; // what is queued is still there
                }
                logger.LogWarning("lane {Lane}: recv of destroy events from namespace {Name} failed: errno {Errno}", laneIndex, handle.Name, errno);
                return;
            }
            if (n == 0) return;
            if (truncated)
            {
                dumps.Counts.CountDestroyEventsLost(1); // never at ~380 bytes; counted, never half-parsed
                handle.Dump.RequestWalk(WalkReason.DestroyOverflow);
                continue;
            }
            dumps.Counts.CountRead(n);
            frames.DestroyEvent(frame, handle.Id, MonotonicClock.UnixNanosNow(), n);
            frames.FlushIfFull();
        }
    }

    /// <summary>
    /// The namespace's destroy socket closes: what the kernel dropped since the last count is lost too. The lane
    /// then tells the parse worker that no more events of it come.
    /// </summary>
    public void OnClosing(NamespaceHandle handle)
    {
        if (handle.DestroyFd is { IsClosed: false }) CountLost(handle);
    }

    /// <summary>Adds the destroy events the kernel dropped since the last count (sk_drops) to the lost count.</summary>
    private void CountLost(NamespaceHandle handle)
    {
        handle.DestroyOverflowing = false;
        long drops = NetlinkSocket.Drops(handle.DestroyFd!);
        if (drops < 0) return;
        // sk_drops is a 32-bit counter in SO_MEMINFO: wrap-around safe difference.
        long lost = (uint)(drops - handle.DestroyDropsCounted);
        handle.DestroyDropsCounted = drops;
        if (lost == 0) return;
        dumps.Counts.CountDestroyEventsLost(lost);
        handle.Dump.RequestWalk(WalkReason.DestroyOverflow);
    }
}
