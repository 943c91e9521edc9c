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
    public readonly int PayloadLength => Kind is FrameKind.Datagram or FrameKind.LaneDone ? Value : 0;
}
