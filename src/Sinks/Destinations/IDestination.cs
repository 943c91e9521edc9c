using XtcpEpoll.Sinks.Marshal;
using XtcpEpoll.Sinks.Records;

namespace XtcpEpoll.Sinks.Destinations;

/// <summary>
/// One flushed envelope as a destination sees it: the marshalled payload plus the records it came
/// from, so a datagram destination can re-encode it in smaller pieces. Valid only during Send.
/// </summary>
public readonly ref struct OutgoingEnvelope(
    ReadOnlyMemory<byte> payload, ReadOnlySpan<FlatRecord> records, ReadOnlySpan<int> recordSizes, IEnvelopeMarshaller marshaller)
{
    public ReadOnlyMemory<byte> Payload { get; } = payload;
    public ReadOnlySpan<FlatRecord> Records { get; } = records;
    /// <summary>FlatRecordEncoder sizes of <see cref="Records"/> (same length).</summary>
    public ReadOnlySpan<int> RecordSizes { get; } = recordSizes;
    public IEnvelopeMarshaller Marshaller { get; } = marshaller;
}

/// <summary>
/// Where payloads go. Called only from the batcher's single sink thread, never from the epoll loop,
/// so a destination may block on I/O (bounded by its own timeouts). Errors are counted and logged
/// once per episode; Send never throws.
/// </summary>
public interface IDestination : IDisposable
{
    /// <summary>Metric label (sink="...").</summary>
    string Name { get; }

    void Send(in OutgoingEnvelope envelope);

    /// <summary>Delivers what the destination still buffers (Kafka), waiting at most <paramref name="timeout"/>. True when nothing is left.</summary>
    bool Flush(TimeSpan timeout);
}
