using System.Text.Json;
using Google.Protobuf.Reflection;
using XtcpEpoll.Sinks.Proto;

namespace XtcpEpoll.Sinks.Marshal;

/// <summary>
/// Field names of XtcpFlatRecord taken from the generated descriptor (so they can never drift from
/// the proto): proto3 JSON names (lowerCamelCase, e.g. inetDiagMsgFamily) indexed by field number,
/// pre-encoded for Utf8JsonWriter, and the column list for csv/tsv.
/// </summary>
public static class RecordSchema
{
    /// <summary>Fields in field-number order.</summary>
    public static IList<FieldDescriptor> Fields { get; }

    private static readonly JsonEncodedText[] JsonNamesByNumber;
    private static readonly JsonEncodedText[] CongestionEnumNames;

    public const int MaxFieldNumber = 3007;

    static RecordSchema()
    {
        Fields = XtcpFlatRecord.Descriptor.Fields.InFieldNumberOrder();
        JsonNamesByNumber = new JsonEncodedText[MaxFieldNumber + 1];
        foreach (var f in Fields)
            JsonNamesByNumber[f.FieldNumber] = JsonEncodedText.Encode(f.JsonName);
        var values = XtcpFlatRecord.Descriptor.EnumTypes[0].Values;
        CongestionEnumNames = new JsonEncodedText[values.Count];
        foreach (var v in values)
            CongestionEnumNames[v.Number] = JsonEncodedText.Encode(v.Name);
    }

    public static JsonEncodedText JsonName(int fieldNumber) => JsonNamesByNumber[fieldNumber];

    /// <summary>Proto enum value name (CONGESTION_ALGORITHM_CUBIC) or false when the value is unknown.</summary>
    public static bool TryCongestionEnumName(int value, out JsonEncodedText name)
    {
        if ((uint)value < (uint)CongestionEnumNames.Length)
        {
            name = CongestionEnumNames[value];
            return true;
        }
        name = default;
        return false;
    }
}
