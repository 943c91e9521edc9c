using XtcpEpoll.Loop.Metrics;
using XtcpEpoll.Netlink.Parsing;
using XtcpEpoll.Sinks.Records;

namespace XtcpEpoll.Loop.Changes;

/// <summary>
/// One decoder's emit decisions: the record_reason of each poll record (<see cref="ReasonFor"/>) and the
/// counts of records by reason and of suppressed ones, added to the metrics once per poll (not per socket).
/// </summary>
public sealed class EmitTally
{
    /// <summary>Returned by <see cref="ReasonFor"/> for a record that is not emitted.</summary>
    public const uint Suppress = uint.MaxValue;

    private readonly long[] _byReason = new long[RecordReasons.Names.Length];
    private long _suppressed;

    /// <summary>
    /// The record_reason of a poll record: <see cref="RecordReasons.Snapshot"/> under --emit all
    /// (<paramref name="table"/> null), else the table's verdict; <see cref="Suppress"/> = not emitted.
    /// </summary>
    public uint ReasonFor(FingerprintTable? table, ref ParsedSocket socket)
    {
        uint reason = table == null ? RecordReasons.Snapshot : table.Classify(socket.Cookie, SocketFingerprint.Of(ref socket)) switch
        {
            ChangeVerdict.FirstSight => RecordReasons.FirstSight,
            ChangeVerdict.Changed => RecordReasons.Changed,
            ChangeVerdict.Keyframe => RecordReasons.Keyframe,
            _ => Suppress,
        };
        if (reason == Suppress) _suppressed++;
        else _byReason[reason]++;
        return reason;
    }

    /// <summary>A destroy record (always emitted).</summary>
    public void CountDestroy(int records) => _byReason[RecordReasons.Destroy] += records;

    public void Publish()
    {
        for (int i = 0; i < _byReason.Length; i++)
        {
            if (_byReason[i] != 0) LoopMetrics.SocketRecordsByReason[i].Inc(_byReason[i]);
            _byReason[i] = 0;
        }
        if (_suppressed != 0) LoopMetrics.RecordsSuppressed.Inc(_suppressed);
        _suppressed = 0;
    }
}
