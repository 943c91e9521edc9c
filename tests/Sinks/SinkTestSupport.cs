using System.Buffers;
using Google.Protobuf;
using Microsoft.Extensions.Logging.Abstractions;
using XtcpEpoll.Sinks.Batching;
using XtcpEpoll.Sinks.Destinations;
using XtcpEpoll.Sinks.Marshal;
using XtcpEpoll.Sinks.Proto;
using XtcpEpoll.Sinks.Records;

namespace XtcpEpoll.Tests.Sinks;

/// <summary>Keeps a copy of every payload (a destination for batching tests).</summary>
public sealed class CapturingDestination : IDestination
{
    private readonly List<byte[]> _payloads = new();
    public string Name => "capture";

    public List<byte[]> Payloads
    {
        get { lock (_payloads) return new List<byte[]>(_payloads); }
    }

    public void Send(in OutgoingEnvelope envelope)
    {
        lock (_payloads) _payloads.Add(envelope.Payload.ToArray());
    }

    public bool Flush(TimeSpan timeout) => true;
    public void Dispose() { }
}

public static class SinkTestSupport
{
    /// <summary>Decodes a stream of protobufList payloads (varint length + Envelope, repeated).</summary>
    public static List<Envelope> DecodeProtobufList(ReadOnlySpan<byte> bytes)
    {
        var envelopes = new List<Envelope>();
        var stream = new MemoryStream(bytes.ToArray());
        while (stream.Position < stream.Length)
            envelopes.Add(Envelope.Parser.ParseDelimitedFrom(stream));
        return envelopes;
    }

    public static byte[] Marshal(IEnvelopeMarshaller marshaller, ReadOnlySpan<FlatRecord> records)
    {
        var output = new ArrayBufferWriter<byte>();
        marshaller.Write(records, default, output);
        return output.WrittenSpan.ToArray();
    }

    public static IEnvelopeMarshaller CreateMarshaller(string name, string? columns = null)
    {
        Assert(MarshallerFactory.TryCreate(name, columns, out var m, out var error), error);
        return m;
    }

    public static void Assert(bool condition, string message)
    {
        if (!condition) throw new Xunit.Sdk.XunitException(message);
    }

    /// <summary>Sends records through a real batcher + destination and shuts down (flushes everything).</summary>
    public static async Task SendThroughBatcher(SinkOptions options, IDestination destination, FlatRecord[] records, int chunk = 50)
    {
        Assert(MarshallerFactory.TryCreate(options.Marshal, options.Columns, out var marshaller, out var error), error);
        var batcher = new EnvelopeBatcher(options, marshaller, destination, NullLogger.Instance);
        for (var i = 0; i < records.Length; i += chunk)
            batcher.Append(records.AsSpan(i, Math.Min(chunk, records.Length - i)));
        batcher.EndOfPoll(FlushReason.PollEnd);
        await batcher.ShutdownAsync(TimeSpan.FromSeconds(20));
    }

    /// <summary>The batcher a daemon would build from <paramref name="options"/> (validated, destination created).</summary>
    public static EnvelopeBatcher CreateBatcher(SinkOptions options)
    {
        Assert(EnvelopeBatcher.TryCreate(options, NullLoggerFactory.Instance, out var batcher, out var error), error);
        return batcher;
    }

    /// <summary>Polls of <paramref name="perPoll"/> records each, record counters continuing from <paramref name="next"/>.</summary>
    public static void RunPolls(EnvelopeBatcher batcher, ref int next, int polls, int perPoll)
    {
        for (var p = 0; p < polls; p++)
        {
            var records = SampleRecords.Many(perPoll, seed: next);
            for (var i = 0; i < records.Length; i++) records[i].RecordCounter = (ulong)(next + i);
            next += records.Length;
            batcher.Append(records);
            batcher.EndOfPoll(FlushReason.PollEnd);
        }
    }

    /// <summary>The record counters of decoded rows, sorted.</summary>
    public static List<ulong> Counters(IEnumerable<Envelope> envelopes)
    {
        var list = new List<ulong>();
        foreach (var e in envelopes)
            foreach (var r in e.Row)
                list.Add(r.RecordCounter);
        list.Sort();
        return list;
    }

    public static List<ulong> Range(int count)
    {
        var list = new List<ulong>(count);
        for (var i = 0; i < count; i++) list.Add((ulong)i);
        return list;
    }

    public static Envelope EnvelopeOf(FlatRecord[] records) => FlatRecordMapper.ToEnvelope(records);

    public static ByteString Bytes(byte[] b) => ByteString.CopyFrom(b);
}
