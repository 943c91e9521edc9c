using System.Buffers;
using XtcpEpoll.Sinks.Records;

namespace XtcpEpoll.Sinks.Marshal;

/// <summary>
/// `varint(len) || Envelope` where Envelope = repeated row (field 10): the length-delimited form that
/// ClickHouse's ProtobufList format and xtcp2's consumers read. Allocation-free.
/// </summary>
public sealed class ProtobufListMarshaller : IEnvelopeMarshaller
{
    public const string MarshalName = "protobufList";
    public string Name => MarshalName;
    public string ContentType => "application/octet-stream";
    public SplitMode Split => SplitMode.RecordSizes;

    /// <summary>Size of the Envelope message (without the leading length varint).</summary>
    public static long EnvelopeSize(ReadOnlySpan<int> recordSizes)
    {
        long total = 0;
        foreach (var size in recordSizes)
            total += FlatRecordEncoder.EnvelopeRowSize(size);
        return total;
    }

    /// <summary>Bytes of a whole payload (length varint + Envelope) for an Envelope of <paramref name="envelopeSize"/>.</summary>
    public static long PayloadSize(long envelopeSize) => ProtoWire.VarintSize((ulong)envelopeSize) + envelopeSize;

    private static void WriteSmall(IBufferWriter<byte> output, int payloadSize, long envelopeSize)
    {
        var span = output.GetSpan(payloadSize);
        output.Advance(ProtoWire.WriteVarint(span, 0, (ulong)envelopeSize));
    }

    public void Write(ReadOnlySpan<FlatRecord> records, ReadOnlySpan<int> recordSizes, IBufferWriter<byte> output)
    {
        int[]? rented = null;
        if (recordSizes.Length != records.Length)
        {
            rented = ArrayPool<int>.Shared.Rent(records.Length);
            for (var i = 0; i < records.Length; i++)
                rented[i] = FlatRecordEncoder.ComputeSize(in records[i]);
            recordSizes = rented.AsSpan(0, records.Length);
        }
        try
        {
            var envelopeSize = EnvelopeSize(recordSizes);
            var payloadSize = (int)PayloadSize(envelopeSize);
            if (records.IsEmpty)
            {
                WriteSmall(output, payloadSize, envelopeSize);
                return;
            }
            // One span for the whole payload, plus room for a record's worst case past the end, so the
            // encoder's bound check passes (no per-byte bounds checks) and there is one GetSpan per flush.
            var slack = FlatRecordEncoder.MaxEncodedSize(records[^1].Context);
            var span = output.GetSpan(payloadSize + slack);
            var p = ProtoWire.WriteVarint(span, 0, (ulong)envelopeSize);
            for (var i = 0; i < records.Length; i++)
            {
                var size = recordSizes[i];
                span[p] = FlatRecordEncoder.EnvelopeRowTag;
                p = ProtoWire.WriteVarint(span, p + 1, (uint)size);
                var written = FlatRecordEncoder.Write(in records[i], span.Slice(p));
                if (written != size)
                    throw new InvalidOperationException($"record encoded to {written} bytes, size said {size}");
                p += size;
            }
            output.Advance(p);
        }
        finally
        {
            if (rented != null) ArrayPool<int>.Shared.Return(rented);
        }
    }
}
