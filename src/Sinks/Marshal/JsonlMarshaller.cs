using System.Buffers;
using System.Buffers.Text;
using System.Runtime.CompilerServices;
using System.Text.Json;
using XtcpEpoll.Sinks.Records;

namespace XtcpEpoll.Sinks.Marshal;

/// <summary>
/// One proto3-JSON object per socket per line (NDJSON). Names are the proto3 JSON names
/// (inetDiagMsgFamily, tcpInfoRtt, congestionAlgorithmString), default values are omitted, 64-bit
/// integers are JSON strings and the enum is its value name, as proto3 JSON specifies; addresses are
/// text (dotted quad / RFC 5952) rather than base64 because people and log tools read this format
/// (xtcp2's jsonl writes base64 of the raw 16 bytes; --marshal protoJson does here too).
/// One Utf8JsonWriter is reused: no allocation per record.
/// </summary>
public sealed class JsonlMarshaller : IEnvelopeMarshaller
{
    public const string MarshalName = "jsonl";
    private static readonly JsonWriterOptions WriterOptions = new() { SkipValidation = true };
    private readonly Utf8JsonWriter _writer = new(Stream.Null, WriterOptions);

    public string Name => MarshalName;
    public string ContentType => "application/x-ndjson";
    public SplitMode Split => SplitMode.Lines;

    public void Write(ReadOnlySpan<FlatRecord> records, ReadOnlySpan<int> recordSizes, IBufferWriter<byte> output)
    {
        for (var i = 0; i < records.Length; i++)
        {
            _writer.Reset(output);
            _writer.WriteStartObject();
            var visitor = new JsonFieldVisitor(_writer);
            FlatRecordFields.Visit(ref visitor, in records[i]);
            _writer.WriteEndObject();
            _writer.Flush();
            output.GetSpan(1)[0] = (byte)'\n';
            output.Advance(1);
        }
        _writer.Reset(Stream.Null);
    }

    private readonly struct JsonFieldVisitor(Utf8JsonWriter writer) : IRecordFieldVisitor
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void UInt32(int field, uint value)
        {
            if (value != 0) writer.WriteNumber(RecordSchema.JsonName(field), value);
        }

        public void UInt64(int field, ulong value)
        {
            if (value == 0) return;
            Span<byte> digits = stackalloc byte[20];
            Utf8Formatter.TryFormat(value, digits, out var n);
            writer.WriteString(RecordSchema.JsonName(field), digits.Slice(0, n));
        }

        public void Int64(int field, long value)
        {
            if (value == 0) return;
            Span<byte> digits = stackalloc byte[20];
            Utf8Formatter.TryFormat(value, digits, out var n);
            writer.WriteString(RecordSchema.JsonName(field), digits.Slice(0, n));
        }

        public void Bool(int field, bool value)
        {
            if (value) writer.WriteBoolean(RecordSchema.JsonName(field), true);
        }

        public void Enum(int field, int value)
        {
            if (value == 0) return;
            if (RecordSchema.TryCongestionEnumName(value, out var name))
                writer.WriteString(RecordSchema.JsonName(field), name);
            else
                writer.WriteNumber(RecordSchema.JsonName(field), value);
        }

        public void String(int field, ReadOnlySpan<byte> utf8)
        {
            if (utf8.Length != 0) writer.WriteString(RecordSchema.JsonName(field), utf8);
        }

        public void Address(int field, byte family, ReadOnlySpan<byte> raw16)
        {
            Span<byte> text = stackalloc byte[IpText.MaxLength];
            var n = IpText.Format(family, raw16, text);
            writer.WriteString(RecordSchema.JsonName(field), text.Slice(0, n));
        }
    }
}
