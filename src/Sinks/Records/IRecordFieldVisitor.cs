namespace XtcpEpoll.Sinks.Records;

/// <summary>
/// Receives a record's fields in proto field-number order (see <see cref="FlatRecordFields.Visit{TVisitor}"/>).
/// One field list drives every encoding (protobuf size, protobuf bytes, JSON, CSV), so they cannot
/// disagree about which field carries which value. Implemented by structs so the JIT specialises
/// and inlines each encoder: no interface dispatch per field.
/// Every field is visited whatever its value; skipping proto3 defaults is the visitor's decision.
/// </summary>
public interface IRecordFieldVisitor
{
    void UInt32(int field, uint value);
    void UInt64(int field, ulong value);
    void Int64(int field, long value);
    void Bool(int field, bool value);
    void Enum(int field, int value);
    /// <summary>A proto string, given as UTF-8.</summary>
    void String(int field, ReadOnlySpan<byte> utf8);
    /// <summary>
    /// A proto bytes field holding an IP address: the kernel's raw 16-byte field (network order; IPv4 in the
    /// first 4 bytes, then zeros), which the protobuf encoders write whole, as xtcp2 does, and
    /// <paramref name="family"/> (AF_INET = 2, AF_INET6 = 10), which the text encoders print it by.
    /// </summary>
    void Address(int field, byte family, ReadOnlySpan<byte> raw16);
}
