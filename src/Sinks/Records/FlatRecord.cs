using XtcpEpoll.Netlink.Parsing;

namespace XtcpEpoll.Sinks.Records;

/// <summary>
/// Metadata shared by every record of one namespace's dump in one poll: created once per namespace per
/// poll (never per socket) and immutable afterwards, so records can hold a reference to it safely.
/// </summary>
public sealed class RecordContext
{
    public required string Hostname { get; init; }
    public required string Netns { get; init; }
    public required ulong NetnsInode { get; init; }
    /// <summary>Poll timestamp (Unix ns): when the poll this dump belongs to was started.</summary>
    public required long TimestampNs { get; init; }
    public string Label { get; init; } = "";
    public string Tag { get; init; } = "";
    public string Location { get; init; } = "";
    public string DaemonVersion { get; init; } = "";
    /// <summary>Netlink socket fd of the namespace (xtcp2's socket_fd column).</summary>
    public ulong SocketFd { get; init; }
    /// <summary>
    /// Container and pod of the namespace (from a process living in it), as known when the poll started:
    /// the attribution of every record of this namespace whose socket's own cgroup names no container.
    /// </summary>
    public RecordAttribution Attribution { get; init; } = RecordAttribution.None;

    private ContextUtf8? _utf8;

    /// <summary>
    /// The string fields as UTF-8, encoded once per context (the context is shared by every record of a
    /// namespace's dump), so encoders copy bytes instead of transcoding strings per record. A benign race:
    /// two threads may both build it; both results are equal and immutable.
    /// </summary>
    public ContextUtf8 Utf8 => _utf8 ??= new ContextUtf8(this);
}

/// <summary>UTF-8 copies of a <see cref="RecordContext"/>'s strings.</summary>
public sealed class ContextUtf8
{
    public readonly byte[] Hostname, Netns, Label, Tag, Location, DaemonVersion;

    internal ContextUtf8(RecordContext context)
    {
        Hostname = System.Text.Encoding.UTF8.GetBytes(context.Hostname);
        Netns = System.Text.Encoding.UTF8.GetBytes(context.Netns);
        Label = System.Text.Encoding.UTF8.GetBytes(context.Label);
        Tag = System.Text.Encoding.UTF8.GetBytes(context.Tag);
        Location = System.Text.Encoding.UTF8.GetBytes(context.Location);
        DaemonVersion = System.Text.Encoding.UTF8.GetBytes(context.DaemonVersion);
        // Per string: up to 3 tag bytes + 5 length bytes + the bytes.
        StringFieldsMaxBytes = 6 * 8 + Hostname.Length + Netns.Length + Label.Length + Tag.Length + Location.Length + DaemonVersion.Length;
    }

    /// <summary>Worst-case encoded size of the six string fields (FlatRecordEncoder's bound).</summary>
    public int StringFieldsMaxBytes { get; }
}

/// <summary>
/// One socket record: the parsed kernel data plus its context. A value type kept in pooled arrays; it
/// owns copies of every byte it needs (addresses, congestion name), so receive buffers can be reused
/// the moment a datagram is parsed.
/// </summary>
public struct FlatRecord
{
    public ParsedSocket Socket;
    public RecordContext Context;
    /// <summary>Index of the message within its namespace dump (xtcp2: record_counter).</summary>
    public ulong RecordCounter;
    /// <summary>Which worker lane parsed it (xtcp2: netlinker_id).</summary>
    public ulong NetlinkerId;
    /// <summary>The dump this record came from did not complete cleanly (proto field 3002).</summary>
    public bool DumpIncomplete;
    /// <summary>0 = poll snapshot, 1 = destroy event (proto field 3003, <see cref="RecordOrigins"/>).</summary>
    public uint RecordOrigin;
    /// <summary>Why the record was emitted (proto field 3007, <see cref="RecordReasons"/>).</summary>
    public uint RecordReason;
    /// <summary>
    /// Unix ns of an event record (a destroy event: when it was read); 0 = the record's poll timestamp
    /// (<see cref="RecordContext.TimestampNs"/>). Read it through <see cref="TimestampNs"/>.
    /// </summary>
    public long EventTimestampNs;

    /// <summary>timestamp_ns of the record: its event's time, else its poll's.</summary>
    public readonly long TimestampNs => EventTimestampNs != 0 ? EventTimestampNs : Context.TimestampNs;

    /// <summary>
    /// Container and pod from the socket's own cgroup (INET_DIAG_CGROUP_ID), shared, never allocated per
    /// record; null = the socket's cgroup names no container (or is unknown), and the record carries its
    /// namespace's attribution (<see cref="RecordContext.Attribution"/>). Read it through <see cref="AttributionOrContext"/>.
    /// </summary>
    public RecordAttribution? Attribution;

    /// <summary>The attribution the record is stamped with: its socket's cgroup's, else its namespace's.</summary>
    public readonly RecordAttribution AttributionOrContext => Attribution ?? Context?.Attribution ?? RecordAttribution.None;
}

/// <summary>Values of <see cref="FlatRecord.RecordOrigin"/> (proto field record_origin = 3003).</summary>
public static class RecordOrigins
{
    public const uint PollSnapshot = 0;
    public const uint DestroyEvent = 1;
}

/// <summary>Values of <see cref="FlatRecord.RecordReason"/> (proto field record_reason = 3007).</summary>
public static class RecordReasons
{
    /// <summary>--emit all: every socket at every poll.</summary>
    public const uint Snapshot = 0;
    public const uint Changed = 1;
    public const uint Keyframe = 2;
    public const uint FirstSight = 3;
    public const uint Destroy = 4;

    /// <summary>Metric label of each value (index = value).</summary>
    public static readonly string[] Names = ["snapshot", "changed", "keyframe", "first_sight", "destroy"];
}
