using Microsoft.Extensions.Logging;
using Tmds.Linux;
using XtcpEpoll.Loop.Dumps;
using XtcpEpoll.Netlink.Native;

namespace XtcpEpoll.Loop.Polling;

/// <summary>
/// Reads a namespace's sock_diag socket when epoll reports it readable, and hands each datagram to the
/// namespace's <see cref="NamespaceDump"/>, whose step the <see cref="LanePoll"/> carries out. Dump batches
/// (up to ~32 KiB) are received straight into the pipe behind their frame header; a round of lookup answers
/// only (~500 bytes each) is read in one recvmmsg and copied behind its headers, cheaper than a syscall each.
/// Owner: the lane thread (all fields).
/// </summary>
internal sealed class DumpSocketReader(int laneIndex, DumpContext dumps, FrameWriter frames, LanePoll poll, ILogger logger) : IDisposable
{
    /// <summary>Reads per socket per wakeup: bounded so one busy namespace cannot starve the others.</summary>
    public const int MaxReadsPerEvent = 8;

    private readonly DatagramBatch _lookupAnswers = new(FrameWriter.RecvSize);

    public void Dispose() => _lookupAnswers.Dispose();

    public void OnReadable(NamespaceHandle handle)
    {
        var dump = handle.Dump;
        if (dump.AwaitsLookupAnswersOnly)
        {
            ReadLookupAnswers(handle, dump);
            return;
        }
        for (int read = 0; read < MaxReadsPerEvent && !handle.Removed; read++)
        {
            var frame = frames.ReceiveSpace();
            int n = NetlinkSocket.Receive(handle.SocketFd, frame.Slice(FrameHeader.Size, FrameWriter.RecvSize), out bool truncated);
            if (truncated) n = -LibC.EMSGSIZE; // cut datagram: the dump lost messages
            if (n < 0)
            {
                OnReceiveFailed(handle, dump, -n);
                return;
            }
            if (n == 0) return;
            dumps.Counts.CountRead(n);
            poll.Apply(handle, dump.OnDatagram(frame.Slice(FrameHeader.Size, n)), frame, n);
            frames.FlushIfFull();
        }
    }

    /// <summary>
    /// A round of lookups only: up to <see cref="DatagramBatch.Capacity"/> answers in one recvmmsg, each copied
    /// behind its frame header (~500 bytes: cheaper than a syscall each). Dump batches (up to ~32 KiB) are never
    /// read this way: they are received straight into the pipe.
    /// </summary>
    private void ReadLookupAnswers(NamespaceHandle handle, NamespaceDump dump)
    {
        int n = _lookupAnswers.Receive(handle.SocketFd);
        if (n < 0)
        {
            OnReceiveFailed(handle, dump, -n);
            return;
        }
        for (int i = 0; i < n && !handle.Removed; i++)
        {
            var datagram = _lookupAnswers.Datagram(i, out bool truncated);
            if (truncated)
            {
                poll.Apply(handle, dump.OnReceiveFailed(LibC.EMSGSIZE)); // cut datagram: an answer was lost
                return;
            }
            if (datagram.Length == 0) continue;
            dumps.Counts.CountRead(datagram.Length);
            var frame = frames.FrameSpace(datagram.Length);
            datagram.CopyTo(frame.Slice(FrameHeader.Size));
            poll.Apply(handle, dump.OnDatagram(frame.Slice(FrameHeader.Size, datagram.Length)), frame, datagram.Length);
            frames.FlushIfFull();
        }
    }

    private void OnReceiveFailed(NamespaceHandle handle, NamespaceDump dump, int errno)
    {
        if (errno == LibC.EAGAIN) return;
        logger.LogWarning("lane {Lane}: recv from namespace {Name} failed: errno {Errno}", laneIndex, handle.Name, errno);
        poll.Apply(handle, dump.OnReceiveFailed(errno));
    }
}
