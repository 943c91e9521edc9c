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

    /// <summary>Writes the record message; <paramref name="destination"/> must hold <see cref="ComputeSize"/> bytes. Returns bytes written.</summary>
    public static int Write(in FlatRecord record, Span<byte> destination)
    {
        var writer = new WriteVisitor(destination);
        FlatRecordFields.Visit(ref writer, in record);
        return writer.Position;
    }

    private struct SizeVisitor : IRecordFieldVisitor
    {
        public int Size;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static int TagSize(int field) => field < 16 ? 1 : field < 2048 ? 2 : 3;

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
        public void Address(int field, ReadOnlySpan<byte> address) => String(field, address);
    }

    private ref struct WriteVisitor : IRecordFieldVisitor
    {
        private readonly Span<byte> _buffer;
        public int Position;

        public WriteVisitor(Span<byte> buffer)
        {
            _buffer = buffer;
            Position = 0;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void UInt32(int field, uint value)
        {
            if (value == 0) return;
            var p = ProtoWire.WriteTag(_buffer, Position, ProtoWire.Tag(field, ProtoWire.WireVarint));
            Position = ProtoWire.WriteVarint(_buffer, p, value);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void UInt64(int field, ulong value)
        {
            if (value == 0) return;
            var p = ProtoWire.WriteTag(_buffer, Position, ProtoWire.Tag(field, ProtoWire.WireVarint));
            Position = ProtoWire.WriteVarint(_buffer, p, value);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Int64(int field, long value) => UInt64(field, (ulong)value);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Bool(int field, bool value)
        {
            if (!value) return;
            var p = ProtoWire.WriteTag(_buffer, Position, ProtoWire.Tag(field, ProtoWire.WireVarint));
            _buffer[p] = 1;
            Position = p + 1;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Enum(int field, int value) => UInt64(field, (ulong)(long)value);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void String(int field, ReadOnlySpan<byte> utf8)
        {
            if (utf8.Length == 0) return;
            var p = ProtoWire.WriteTag(_buffer, Position, ProtoWire.Tag(field, ProtoWire.WireLengthDelimited));
            p = ProtoWire.WriteVarint(_buffer, p, (uint)utf8.Length);
            utf8.CopyTo(_buffer.Slice(p));
            Position = p + utf8.Length;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Address(int field, ReadOnlySpan<byte> address) => String(field, address);
    }
}
