using System.Buffers;
using Google.Protobuf;
using XtcpEpoll.Sinks.Records;

namespace XtcpEpoll.Sinks.Marshal;

/// <summary>
/// One Envelope per flush as canonical proto3 JSON (Google.Protobuf's JsonFormatter) plus a newline.
/// Builds the generated messages, so it allocates; it is a debugging/interop format, not the hot path.
/// </summary>
public sealed class ProtoJsonMarshaller : IEnvelopeMarshaller
{
    public const string MarshalName = "protoJson";
    public string Name => MarshalName;
    public string ContentType => "application/json";
    public SplitMode Split => SplitMode.Remarshal;

    public void Write(ReadOnlySpan<FlatRecord> records, ReadOnlySpan<int> recordSizes, IBufferWriter<byte> output)
    {
        var json = JsonFormatter.Default.Format(FlatRecordMapper.ToEnvelope(records));
        var bytes = System.Text.Encoding.UTF8.GetByteCount(json);
        var span = output.GetSpan(bytes + 1);
        System.Text.Encoding.UTF8.GetBytes(json, span);
        span[bytes] = (byte)'\n';
        output.Advance(bytes + 1);
    }
}
