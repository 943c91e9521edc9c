using System.Buffers;
using XtcpEpoll.Sinks.Records;

namespace XtcpEpoll.Sinks.Marshal;

/// <summary>How a payload too big for one datagram is cut into several valid payloads.</summary>
public enum SplitMode
{
    /// <summary>Re-encode groups of rows as smaller envelopes, sized from the known row sizes (protobufList).</summary>
    RecordSizes,
    /// <summary>Cut at line boundaries (jsonl, csv, tsv).</summary>
    Lines,
    /// <summary>Re-marshal halves of the batch until each fits (protoJson).</summary>
    Remarshal,
}

/// <summary>Turns one batch of records (one envelope) into the bytes a destination sends.</summary>
public interface IEnvelopeMarshaller
{
    /// <summary>The --marshal name.</summary>
    string Name { get; }

    /// <summary>HTTP Content-Type of a payload.</summary>
    string ContentType { get; }

    SplitMode Split { get; }

    /// <summary>
    /// Appends the payload for <paramref name="records"/> to <paramref name="output"/>.
    /// <paramref name="recordSizes"/> holds <see cref="FlatRecordEncoder.ComputeSize"/> of each record
    /// when the caller already knows them (the batcher does), or is empty.
    /// Called from one thread at a time (the sink thread).
    /// </summary>
    void Write(ReadOnlySpan<FlatRecord> records, ReadOnlySpan<int> recordSizes, IBufferWriter<byte> output);
}
