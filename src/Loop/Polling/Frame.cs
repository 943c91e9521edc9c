using System.Runtime.InteropServices;

namespace XtcpEpoll.Loop.Polling;

/// <summary>What a frame in a lane's pipe carries.</summary>
internal enum FrameKind : int
{
    /// <summary>One netlink datagram of namespace NsIndex follows (Value = its length).</summary>
    Datagram = 1,
    /// <summary>Namespace NsIndex's dump is over; Value = <see cref="Dumps.DumpEnd"/>.</summary>
    NamespaceEnd = 2,
    /// <summary>The lane is done with poll PollId; a <see cref="Dumps.LaneCounts"/> follows (Value = its size).</summary>
    LaneDone = 3,
    /// <summary>
    /// A datagram of a namespace's destroy-event socket, read at any time (between polls too; PollId 0):
    /// a <see cref="DestroyEventHeader"/> then the datagram follow (Value = their length).
    /// </summary>
    DestroyEvent = 4,
    /// <summary>The namespace whose handle id follows (8 bytes, Value = 8) is closed: no more destroy events of it.</summary>
    NamespaceGone = 5,
    /// <summary>As <see cref="Datagram"/>, and the lane saw NLM_F_DUMP_INTR in it: the namespace's dump is inconsistent from here on.</summary>
    InterruptedDatagram = 6,
}

/// <summary>In front of a destroy-event datagram in its frame: whose it is and when it was read.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct DestroyEventHeader
{
    public const int Size = 16;
    /// <summary><see cref="NamespaceHandle.Id"/> of the namespace.</summary>
    public ulong NamespaceId;
    /// <summary>CLOCK_REALTIME (Unix ns) when the lane read it: the record's timestamp_ns.</summary>
    public long ReadTimeNs;
}

/// <summary>
/// 16-byte header in front of every frame the lane thread writes into its pipe. The datagram bytes
/// follow the header directly (the lane recv()s straight into the pipe's memory behind it).
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal struct FrameHeader
{
    public const int Size = 16;
    public FrameKind Kind;
    /// <summary>Index of the namespace within the lane's poll plan.</summary>
    public int NsIndex;
    public int PollId;
    public int Value;

    /// <summary>Bytes following the header.</summary>
    public readonly int PayloadLength => Kind is FrameKind.Datagram or FrameKind.InterruptedDatagram or FrameKind.LaneDone or FrameKind.DestroyEvent or FrameKind.NamespaceGone ? Value : 0;

    /// <summary>Frames of a poll (they carry its PollId and index into its plan); the others may come at any time.</summary>
    public readonly bool BelongsToPoll => Kind is FrameKind.Datagram or FrameKind.InterruptedDatagram or FrameKind.NamespaceEnd or FrameKind.LaneDone;
}
