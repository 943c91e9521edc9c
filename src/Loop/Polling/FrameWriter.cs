using System.IO.Pipelines;
using System.Runtime.InteropServices;
using XtcpEpoll.Loop.Dumps;

namespace XtcpEpoll.Loop.Polling;

/// <summary>
/// Writes one lane's frames (<see cref="FrameHeader"/> + payload) into its pipe and hands them to the parse
/// worker. Datagrams are received straight into the pipe's memory behind the room for their header
/// (<see cref="ReceiveSpace"/>), so forwarding one copies nothing. Owner: the lane thread (all fields).
/// </summary>
internal sealed class FrameWriter(PipeWriter writer)
{
    /// <summary>Netlink dump batches are ≤ ~32 KiB on current kernels; 64 KiB leaves room and never truncates.</summary>
    public const int RecvSize = 64 * 1024;
    private const int FlushEveryBytes = 256 * 1024;

    private int _unflushed;

    /// <summary>The running poll's id, carried by its frames (0 between polls: event frames carry 0).</summary>
    public int PollId { get; set; }

    /// <summary>
    /// Pipe memory for one datagram of up to <see cref="RecvSize"/> bytes behind <paramref name="headroom"/>
    /// bytes of frame headers; nothing is written until a Commit/Forward says so.
    /// </summary>
    public Span<byte> ReceiveSpace(int headroom = FrameHeader.Size) => writer.GetMemory(headroom + RecvSize).Span;

    /// <summary>Pipe memory for a frame of <paramref name="payload"/> bytes (a datagram copied in).</summary>
    public Span<byte> FrameSpace(int payload) => writer.GetSpan(FrameHeader.Size + payload);

    /// <summary>Commits a datagram of namespace <paramref name="nsIndex"/> that sits behind the header room of <paramref name="frame"/>.</summary>
    public void Datagram(Span<byte> frame, int nsIndex, int length, bool interrupted)
    {
        WriteHeader(frame, interrupted ? FrameKind.InterruptedDatagram : FrameKind.Datagram, nsIndex, length, PollId);
        Commit(FrameHeader.Size + length);
    }

    /// <summary>The namespace's part of the poll is over.</summary>
    public void NamespaceEnd(int nsIndex, DumpEnd how)
    {
        WriteHeader(writer.GetSpan(FrameHeader.Size), FrameKind.NamespaceEnd, nsIndex, (int)how, PollId);
        Commit(FrameHeader.Size);
    }

    /// <summary>The lane's poll is over: its counts follow.</summary>
    public void LaneDone(in LaneCounts counts)
    {
        var span = writer.GetSpan(FrameHeader.Size + LaneCounts.Size);
        WriteHeader(span, FrameKind.LaneDone, 0, LaneCounts.Size, PollId);
        MemoryMarshal.Write(span.Slice(FrameHeader.Size), in counts);
        Commit(FrameHeader.Size + LaneCounts.Size);
    }

    /// <summary>Commits a destroy-event datagram received behind the headers' room of <paramref name="frame"/>.</summary>
    public void DestroyEvent(Span<byte> frame, ulong namespaceId, long readTimeNs, int length)
    {
        var header = new DestroyEventHeader { NamespaceId = namespaceId, ReadTimeNs = readTimeNs };
        MemoryMarshal.Write(frame.Slice(FrameHeader.Size), in header);
        WriteHeader(frame, FrameKind.DestroyEvent, 0, DestroyEventHeader.Size + length, pollId: 0);
        Commit(FrameHeader.Size + DestroyEventHeader.Size + length);
    }

    /// <summary>No more destroy events of the namespace: its parse worker forgets it.</summary>
    public void NamespaceGone(ulong namespaceId)
    {
        var span = writer.GetSpan(FrameHeader.Size + sizeof(ulong));
        WriteHeader(span, FrameKind.NamespaceGone, 0, sizeof(ulong), pollId: 0);
        MemoryMarshal.Write(span.Slice(FrameHeader.Size), namespaceId);
        Commit(FrameHeader.Size + sizeof(ulong));
    }

    /// <summary>Flushes once enough is written, so a long read burst reaches the worker while the lane goes on.</summary>
    public void FlushIfFull()
    {
        if (_unflushed >= FlushEveryBytes) Flush();
    }

    /// <summary>
    /// Hands written frames to the parse worker. If the pipe is above its pause threshold this blocks the
    /// lane thread until the worker catches up: the lane stops reading and the kernel holds the data.
    /// </summary>
    public void Flush()
    {
        if (_unflushed == 0) return;
        _unflushed = 0;
        var flush = writer.FlushAsync();
        if (!flush.IsCompleted) flush.AsTask().GetAwaiter().GetResult();
        else flush.GetAwaiter().GetResult();
    }

    /// <summary>The lane ends (with the fault that killed it, if any).</summary>
    public void Complete(Exception? fault = null) => writer.Complete(fault);

    private void Commit(int bytes)
    {
        writer.Advance(bytes);
        _unflushed += bytes;
    }

    private static void WriteHeader(Span<byte> span, FrameKind kind, int nsIndex, int value, int pollId)
    {
        var header = new FrameHeader { Kind = kind, NsIndex = nsIndex, PollId = pollId, Value = value };
        MemoryMarshal.Write(span, in header);
    }
}
