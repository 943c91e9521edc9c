using Microsoft.Extensions.Logging;
using XtcpEpoll.Loop.Attribution;
using XtcpEpoll.Loop.Changes;
using XtcpEpoll.Netlink.Parsing;
using XtcpEpoll.Sinks.Batching;
using XtcpEpoll.Sinks.Records;

namespace XtcpEpoll.Loop.Parsing;

/// <summary>How a datagram left its dump (see <see cref="DumpDecoder.Decode"/>).</summary>
public enum DatagramEnding : byte
{
    /// <summary>More of the dump may follow.</summary>
    None,
    /// <summary>NLMSG_DONE: the dump (of this request) is complete.</summary>
    Done,
    /// <summary>NLMSG_ERROR, or a DONE carrying a negative code: the dump ended with an error.</summary>
    Error,
}

/// <summary>What one datagram produced: records appended to the sink, and whether it ended the dump.</summary>
public readonly record struct DecodedDatagram(int Appended, DatagramEnding Ending, int ErrorNumber);

/// <summary>
/// One datagram of a namespace's dump → records in the sink. The single place where collection turns
/// sock_diag replies into records, used by the parse workers and by `xtcp-epoll replay` (so a capture
/// replays through exactly the live path): parse in place (SockDiagReader) into a reused FlatRecord chunk,
/// drop a cookie the dump already emitted, number the records, flag DumpIncomplete once the dump is known
/// interrupted, stop at DONE / ERROR (nothing after the end of a dump is data of it), append. Whether a dump
/// ended or was interrupted is decided by the lane's NamespaceDump live; only replay, which has no lane, reads it
/// here (<see cref="Decode"/>). No allocation per socket or per datagram. Owner: one parse worker thread (or
/// the replay command's thread); it owns its record chunk and counters.
/// </summary>
public sealed class DumpDecoder
{
    /// <summary>A 64 KiB datagram holds at most ~900 minimal messages; records are appended in chunks of this.</summary>
    public const int RecordChunk = 1024;

    private readonly IRecordSink _sink;
    private readonly ParseErrorCounters _errors;
    private readonly ulong _netlinkerId;
    private readonly ILogger _logger;
    private readonly FlatRecord[] _records = new FlatRecord[RecordChunk];
    private readonly SocketAttributor _attributor;
    private readonly EmitTally _emits = new();
    private long _sinkErrors;
    private ulong _eventCounter;

    /// <param name="netlinkerId">The records' netlinker_id (the lane; 0 for replay).</param>
    public DumpDecoder(IRecordSink sink, ParseErrorCounters errors, ulong netlinkerId, ILogger logger)
        : this(sink, errors, netlinkerId, logger, new SocketAttributor(null))
    {
    }

    /// <param name="attributor">The socket-cgroup attribution step (container/pod of each socket; off for replay).</param>
    internal DumpDecoder(IRecordSink sink, ParseErrorCounters errors, ulong netlinkerId, ILogger logger, SocketAttributor attributor)
    {
        _sink = sink;
        _errors = errors;
        _netlinkerId = netlinkerId;
        _logger = logger;
        _attributor = attributor;
    }

    /// <summary>Sockets are attributed by their own cgroup (a poll can find an owner a destroy record needs kept).</summary>
    internal bool AttributesSockets => _attributor.IsOn;

    /// <summary>Adds the attribution and emit counts since the last call to the metrics (once per poll, by the parse worker).</summary>
    internal void PublishCounts()
    {
        _attributor.PublishCounts();
        _emits.Publish();
    }

    /// <summary>
    /// --emit changed: what decides which of a namespace's sockets a poll emits (the parse worker gives each
    /// namespace a <see cref="FingerprintTable"/> on it); null = --emit all.
    /// </summary>
    public KeyframeSchedule? Keyframes { get; init; }

    /// <summary>
    /// Offline (replay, benchmarks): appends the records of <paramref name="datagram"/>, a reply of the dump
    /// <paramref name="dump"/> tracks, and reads the dump's end and NLM_F_DUMP_INTR from it, since no lane read
    /// them first. (Live, the lane's NamespaceDump reads them and the parse worker calls <see cref="AppendSnapshot"/>.)
    /// </summary>
    public DecodedDatagram Decode(ReadOnlySpan<byte> datagram, DumpRecords dump, RecordContext context)
    {
        var reader = new SockDiagReader(datagram, _errors);
        int appended = AppendSnapshot(ref reader, dump, context, offline: true, out var ending);
        return new DecodedDatagram(appended, ending, ending == DatagramEnding.Error ? reader.ErrorNumber : 0);
    }

    /// <summary>
    /// Live (parse worker): appends the records of a datagram the lane forwarded. Its end and DUMP_INTR were read
    /// by the lane's NamespaceDump, which flagged the datagram if the dump is interrupted (the worker then set
    /// <see cref="DumpRecords.Incomplete"/> before this call).
    /// </summary>
    internal int AppendSnapshot(ReadOnlySpan<byte> datagram, DumpRecords dump, RecordContext context)
    {
        var reader = new SockDiagReader(datagram, _errors);
        return AppendSnapshot(ref reader, dump, context, offline: false, out _);
    }

    private int AppendSnapshot(ref SockDiagReader reader, DumpRecords dump, RecordContext context, bool offline, out DatagramEnding ending)
    {
        int count = 0, appended = 0;
        ending = DatagramEnding.None;
        while (true)
        {
            ref var record = ref _records[count];
            var item = reader.Next(ref record.Socket);
            if (item == SockDiagItem.Socket)
            {
                if (!dump.Cookies.Add(record.Socket.Cookie)) continue; // already emitted by this dump
                uint reason = _emits.ReasonFor(dump.Changes, ref record.Socket);
                if (reason == EmitTally.Suppress) continue; // --emit changed: unchanged, no keyframe due
                record.RecordReason = reason;
                record.Context = context;
                record.Attribution = _attributor.ForSocket(ref record.Socket, context); // null = the namespace's
                if (record.Attribution != null) dump.Owners?.Remember(record.Socket.Cookie, record.Attribution);
                record.RecordCounter = dump.Counter++;
                record.NetlinkerId = _netlinkerId;
                record.DumpIncomplete = dump.Incomplete;
                record.RecordOrigin = RecordOrigins.PollSnapshot;
                record.EventTimestampNs = 0; // the context's poll timestamp
                if (++count == RecordChunk) { appended += Append(count); count = 0; }
                continue;
            }
            // Nothing after the end of a dump is data of it.
            if (item == SockDiagItem.Done) ending = DatagramEnding.Done;
            else if (item == SockDiagItem.Error) ending = DatagramEnding.Error;
            break;
        }
        if (offline && reader.DumpInterrupted)
        {
            // Offline only (live, the lane read it and flagged the dump before this datagram): the table changed
            // under the dump, so this datagram's records and the rest of the dump are flagged (records already appended
            // from earlier datagrams cannot be recalled).
            dump.Incomplete = true;
            for (int i = 0; i < count; i++) _records[i].DumpIncomplete = true;
        }
        if (count > 0) appended += Append(count);
        return appended;
    }

    /// <summary>
    /// Appends the records of a datagram from a namespace's destroy-event socket: one per closed TCP socket,
    /// with its final counters (the kernel sends inet_diag_msg, INET_DIAG_PROTOCOL and INET_DIAG_INFO only),
    /// <see cref="RecordOrigins.DestroyEvent"/>, stamped with <paramref name="readTimeNs"/> (when the lane read
    /// it; the kernel gives no close time) instead of a poll's timestamp, numbered by a counter of this
    /// decoder. No dedupe: the kernel sends each socket's end once. Returns the records appended.
    /// </summary>
    /// <param name="owners">The namespace's sockets whose container its polls found by cgroup (null: none kept).</param>
    public int DecodeEvents(ReadOnlySpan<byte> datagram, RecordContext context, long readTimeNs, DestroyOwners? owners = null)
    {
        var reader = new SockDiagReader(datagram, _errors);
        int count = 0, appended = 0;
        while (reader.Next(ref _records[count].Socket) == SockDiagItem.Socket)
        {
            ref var record = ref _records[count];
            record.Context = context;
            // No INET_DIAG_CGROUP_ID in a destroy event: the namespace's owner, or in a namespace of no owner the
            // container a poll found by the socket's cgroup.
            var remembered = owners is { Count: > 0 } ? owners.Take(record.Socket.Cookie) : null;
            record.Attribution = context.Attribution.IsNone ? remembered : null;
            record.RecordCounter = _eventCounter++;
            record.NetlinkerId = _netlinkerId;
            record.DumpIncomplete = false;
            record.RecordOrigin = RecordOrigins.DestroyEvent;
            record.RecordReason = RecordReasons.Destroy;
            record.EventTimestampNs = readTimeNs;
            if (++count == RecordChunk) { appended += Append(count); count = 0; }
        }
        if (count > 0) appended += Append(count);
        _emits.CountDestroy(appended);
        return appended;
    }

    private int Append(int count)
    {
        try { _sink.Append(new ReadOnlySpan<FlatRecord>(_records, 0, count)); }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // A failing sink must not stop collection (or leave the lane blocked on a dead pipe): log, go on.
            if (_sinkErrors++ % 1000 == 0) _logger.LogError(ex, "sink rejected {Count} records (netlinker {Lane})", count, _netlinkerId);
            return 0;
        }
        return count;
    }
}
