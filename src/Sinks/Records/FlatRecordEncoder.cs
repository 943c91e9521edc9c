using System.Runtime.CompilerServices;

namespace XtcpEpoll.Sinks.Records;

/// <summary>
/// Hand-written protobuf encoder of <see cref="FlatRecord"/> as xtcp_flat_record.v1.XtcpFlatRecord:
/// byte-identical to Google.Protobuf's encoding of the mapped message (fields in number order,
/// proto3 defaults omitted), without building the message: no allocation per record.
/// </summary>
public static class FlatRecordEncoder
{
    /// <summary>Envelope.row field tag (field 10, length-delimited) = 0x52.</summary>
    public const byte EnvelopeRowTag = 10 << 3 | ProtoWire.WireLengthDelimited;

    /// <summary>Exact encoded size of the record message (without the Envelope row tag/length).</summary>
    public static int ComputeSize(in FlatRecord record)
    {
        var sizer = new SizeVisitor();
        FlatRecordFields.Visit(ref sizer, in record);
        return sizer.Size;
    }

    /// <summary>Bytes the record adds to an Envelope: tag, length varint and the message.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int EnvelopeRowSize(int recordSize) => 1 + ProtoWire.VarintSize((uint)recordSize) + recordSize;

    /// <summary>
    /// Bound on the non-string part of a record: at most ~130 fields of at most 3 tag + 10 varint bytes,
    /// and three short byte fields (two 16-byte addresses, the congestion name) of at most 3 + 1 + 16 bytes.
    /// </summary>
    public const int MaxFixedPartSize = 2048;

    /// <summary>
    /// Upper bound of <see cref="ComputeSize"/> for any record with this context, whatever its attribution
    /// (container id, runtime and pod uid are bounded by <see cref="RecordAttribution.MaxEncodedBytes"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int MaxEncodedSize(RecordContext context) => MaxFixedPartSize + RecordAttribution.MaxEncodedBytes + context.Utf8.StringFieldsMaxBytes;

    /// <summary>
    /// Writes the record message; <paramref name="destination"/> must hold <see cref="ComputeSize"/> bytes.
    /// Returns bytes written. When the destination holds <see cref="MaxEncodedSize"/> bytes the encoder
    /// writes without per-byte bounds checks (checked once here); otherwise it encodes into scratch first.
    /// </summary>
    public static int Write(in FlatRecord record, Span<byte> destination)
    {
        var bound = MaxEncodedSize(record.Context);
        if (destination.Length >= bound)
        {
            var writer = new WriteVisitor(ref System.Runtime.InteropServices.MemoryMarshal.GetReference(destination));
            FlatRecordFields.Visit(ref writer, in record);
            return writer.Position;
        }
        var scratch = System.Buffers.ArrayPool<byte>.Shared.Rent(bound);
        try
        {
            var written = Write(in record, scratch);
            scratch.AsSpan(0, written).CopyTo(destination); // throws if the destination is too small
            return written;
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(scratch);
        }
    }

    private struct SizeVisitor : IRecordFieldVisitor
    {
        public int Size;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static int TagSize(int field) => field < 16 ? 1 : field < 2048 ? 2 : 3;

        // Branchy on purpose: zero fields are skipped cheaply and predictably (design/PERFORMANCE.md, "Figures behind code choices").
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void UInt32(int field, uint value)
        {
            if (value != 0) Size += TagSize(field) + ProtoWire.VarintSize(value);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void UInt64(int field, ulong value)
        {
            if (value != 0) Size += TagSize(field) + ProtoWire.VarintSize(value);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Int64(int field, long value) => UInt64(field, (ulong)value);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Bool(int field, bool value)
        {
            if (value) Size += TagSize(field) + 1;
        }

        // Negative enum values are sign-extended to 10 bytes, as in Google.Protobuf.
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Enum(int field, int value) => UInt64(field, (ulong)(long)value);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void String(int field, ReadOnlySpan<byte> utf8)
        {
            if (utf8.Length != 0) Size += TagSize(field) + ProtoWire.VarintSize((uint)utf8.Length) + utf8.Length;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Address(int field, byte family, ReadOnlySpan<byte> raw16) => String(field, raw16);
    }

    /// <summary>Writes at a ref without bounds checks; only created after the destination was checked against the record's bound.</summary>
    private ref struct WriteVisitor : IRecordFieldVisitor
    {
        private readonly ref byte _start;
        public int Position;

        public WriteVisitor(ref byte start)
        {
            _start = ref start;
            Position = 0;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void UInt32(int field, uint value)
        {
            if (value == 0) return;
            var p = ProtoWire.WriteTagUnchecked(ref _start, Position, ProtoWire.Tag(field, ProtoWire.WireVarint));
            Position = ProtoWire.WriteVarintUnchecked(ref _start, p, value);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void UInt64(int field, ulong value)
        {
            if (value == 0) return;
            var p = ProtoWire.WriteTagUnchecked(ref _start, Position, ProtoWire.Tag(field, ProtoWire.WireVarint));
            Position = ProtoWire.WriteVarintUnchecked(ref _start, p, value);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Int64(int field, long value) => UInt64(field, (ulong)value);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Bool(int field, bool value)
        {
            if (!value) return;
            var p = ProtoWire.WriteTagUnchecked(ref _start, Position, ProtoWire.Tag(field, ProtoWire.WireVarint));
            Unsafe.Add(ref _start, p) = 1;
            Position = p + 1;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Enum(int field, int value) => UInt64(field, (ulong)(long)value);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void String(int field, ReadOnlySpan<byte> utf8)
        {
            if (utf8.Length == 0) return;
            var p = ProtoWire.WriteTagUnchecked(ref _start, Position, ProtoWire.Tag(field, ProtoWire.WireLengthDelimited));
            p = ProtoWire.WriteVarintUnchecked(ref _start, p, (uint)utf8.Length);
            // Context strings are bounded by StringFieldsMaxBytes, attribution strings by
            // RecordAttribution.MaxEncodedBytes, address/congestion spans by MaxFixedPartSize.
            Unsafe.CopyBlockUnaligned(ref Unsafe.Add(ref _start, p), ref System.Runtime.InteropServices.MemoryMarshal.GetReference(utf8), (uint)utf8.Length);
            Position = p + utf8.Length;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Address(int field, byte family, ReadOnlySpan<byte> raw16) => String(field, raw16);
    }
}
