using XtcpEpoll.Sinks.Records;

namespace XtcpEpoll.Sinks.Batching;

/// <summary>Why an envelope was flushed (metric label values, xtcp2-compatible names).</summary>
public enum FlushReason { PollEnd, PollTimeout, RowsCap, SizeCap, Shutdown }

/// <summary>
/// What the collection loop hands records to. Implemented by the envelope batcher, which marshals
/// and ships envelopes on its own thread; the loop and parse workers never wait on I/O here, only
/// (briefly) on bounded memory when every envelope slot is full.
/// </summary>
public interface IRecordSink
{
    /// <summary>Append records (thread-safe; may be called by several parse workers at once).</summary>
    void Append(ReadOnlySpan<FlatRecord> records);

    /// <summary>The poll is over: flush what is pending with the given reason (PollEnd or PollTimeout).</summary>
    void EndOfPoll(FlushReason reason);

    /// <summary>Flush what is pending, drain the destination, bounded by <paramref name="timeout"/>.</summary>
    Task ShutdownAsync(TimeSpan timeout);
}
