using System.Numerics;
using System.Runtime.CompilerServices;

namespace XtcpEpoll.Sinks.Records;

/// <summary>
/// Protobuf wire primitives (varints, tags, sizes) with the exact size rules of Google.Protobuf, so
/// a size computed here equals the length the writer produces and the length the runtime computes.
/// </summary>
public static class ProtoWire
{
    public const int WireVarint = 0;
    public const int WireLengthDelimited = 2;

    /// <summary>Bytes a varint of <paramref name="value"/> takes (1..10).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int VarintSize(ulong value) => (BitOperations.Log2(value | 1) * 9 + 73) >> 6;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int VarintSize(uint value) => (BitOperations.Log2(value | 1) * 9 + 73) >> 6;

    /// <summary>Tag value for a field (field number and wire type).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Tag(int field, int wireType) => (uint)(field << 3 | wireType);

    /// <summary>Writes a varint at <paramref name="position"/>; returns the new position.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int WriteVarint(Span<byte> buffer, int position, ulong value)
    {
        while (value >= 0x80)
        {
            buffer[position++] = (byte)(value | 0x80);
            value >>= 7;
        }
        buffer[position++] = (byte)value;
        return position;
    }

    /// <summary>
    /// Writes a tag whose value is a JIT-time constant at every call site: the size branches fold away,
    /// so a field's tag costs one to three byte stores.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int WriteTag(Span<byte> buffer, int position, uint tag)
    {
        if (tag < 0x80)
        {
            buffer[position] = (byte)tag;
            return position + 1;
        }
        if (tag < 0x4000)
        {
            buffer[position] = (byte)(tag | 0x80);
            buffer[position + 1] = (byte)(tag >> 7);
            return position + 2;
        }
        buffer[position] = (byte)(tag | 0x80);
        buffer[position + 1] = (byte)(tag >> 7 | 0x80);
        buffer[position + 2] = (byte)(tag >> 14);
        return position + 3;
    }

    /// <summary>
    /// <see cref="WriteVarint"/> without bounds checks, for the record encoder, which checks once per
    /// record that its destination holds the record's worst-case size.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int WriteVarintUnchecked(ref byte start, int position, ulong value)
    {
        while (value >= 0x80)
        {
            Unsafe.Add(ref start, position++) = (byte)(value | 0x80);
            value >>= 7;
        }
        Unsafe.Add(ref start, position++) = (byte)value;
        return position;
    }

    /// <summary><see cref="WriteTag"/> without bounds checks (see <see cref="WriteVarintUnchecked"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int WriteTagUnchecked(ref byte start, int position, uint tag)
    {
        if (tag < 0x80)
        {
            Unsafe.Add(ref start, position) = (byte)tag;
            return position + 1;
        }
        if (tag < 0x4000)
        {
            Unsafe.Add(ref start, position) = (byte)(tag | 0x80);
            Unsafe.Add(ref start, position + 1) = (byte)(tag >> 7);
            return position + 2;
        }
        Unsafe.Add(ref start, position) = (byte)(tag | 0x80);
        Unsafe.Add(ref start, position + 1) = (byte)(tag >> 7 | 0x80);
        Unsafe.Add(ref start, position + 2) = (byte)(tag >> 14);
        return position + 3;
    }
}
