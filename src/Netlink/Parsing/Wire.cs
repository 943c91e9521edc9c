using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace XtcpEpoll.Netlink.Parsing;

/// <summary>
/// Native-order reads at an offset. Callers check the span length ONCE for a whole struct and then
/// read its fields through these, so the hot path pays one bounds check per struct, not per field.
/// </summary>
internal static class Wire
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort U16(ReadOnlySpan<byte> span, int offset)
    {
        Debug.Assert((uint)offset + 2 <= (uint)span.Length);
        return Unsafe.ReadUnaligned<ushort>(ref Unsafe.Add(ref MemoryMarshal.GetReference(span), (nint)(uint)offset));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint U32(ReadOnlySpan<byte> span, int offset)
    {
        Debug.Assert((uint)offset + 4 <= (uint)span.Length);
        return Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref MemoryMarshal.GetReference(span), (nint)(uint)offset));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong U64(ReadOnlySpan<byte> span, int offset)
    {
        Debug.Assert((uint)offset + 8 <= (uint)span.Length);
        return Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref MemoryMarshal.GetReference(span), (nint)(uint)offset));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort U16BigEndian(ReadOnlySpan<byte> span, int offset)
    {
        ushort value = U16(span, offset);
        return BitConverter.IsLittleEndian ? System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(value) : value;
    }
}
