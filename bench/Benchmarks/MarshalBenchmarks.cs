using System.Buffers;
using BenchmarkDotNet.Attributes;
using Google.Protobuf;
using XtcpEpoll.Sinks.Marshal;
using XtcpEpoll.Sinks.Proto;
using XtcpEpoll.Sinks.Records;

namespace XtcpEpoll.Bench.Benchmarks;

/// <summary>
/// Marshal cost per record over one flush of 10,000 real-capture records (OperationsPerInvoke = records,
/// so Mean is ns/record and Allocated is bytes/record). Peer: Google.Protobuf's generated-class encoding
/// of the same Envelope (already built, and including the mapping).
/// </summary>
[MemoryDiagnoser]
public class MarshalBenchmarks
{
    private const int Records = 10_000;
    private FlatRecord[] _records = null!;
    private FlatRecord[] _attributed = null!;
    private int[] _sizes = null!;
    private int[] _attributedSizes = null!;
    private ArrayBufferWriter<byte> _output = null!;
    private byte[] _googleBuffer = null!;
    private Envelope _envelope = null!;
    private readonly ProtobufListMarshaller _protobufList = new();
    private readonly JsonlMarshaller _jsonl = new();

    [GlobalSetup]
    public void Setup()
    {
        _records = MarshalRecords.Load(Records);
        _sizes = new int[Records];
        for (var i = 0; i < Records; i++) _sizes[i] = FlatRecordEncoder.ComputeSize(in _records[i]);
        _attributed = MarshalRecords.LoadAttributed(Records);
        _attributedSizes = new int[Records];
        for (var i = 0; i < Records; i++) _attributedSizes[i] = FlatRecordEncoder.ComputeSize(in _attributed[i]);
        _output = new ArrayBufferWriter<byte>(64 << 20);
        _envelope = FlatRecordMapper.ToEnvelope(_records);
        _googleBuffer = new byte[_envelope.CalculateSize() + 16];
    }

    /// <summary>What the sink thread does per flush: sizes were computed at Append.</summary>
    [Benchmark(OperationsPerInvoke = Records)]
    public int ProtobufList()
    {
        _output.ResetWrittenCount();
        _protobufList.Write(_records, _sizes, _output);
        return _output.WrittenCount;
    }

    /// <summary>Whole per-record protobuf cost: size at Append plus encoding at flush.</summary>
    [Benchmark(OperationsPerInvoke = Records)]
    public int ProtobufList_WithSizing()
    {
        for (var i = 0; i < _records.Length; i++) _sizes[i] = FlatRecordEncoder.ComputeSize(in _records[i]);
        _output.ResetWrittenCount();
        _protobufList.Write(_records, _sizes, _output);
        return _output.WrittenCount;
    }

    /// <summary>
    /// The same with every record owned by a pod container (container_id, container_runtime, pod_uid: ~120
    /// bytes more per record, copied from the shared pre-encoded attribution): the cost attribution adds at
    /// the marshaller, which the end-to-end harness cannot show (its namespaces hold no containers).
    /// </summary>
    [Benchmark(OperationsPerInvoke = Records)]
    public int ProtobufList_Attributed_WithSizing()
    {
        for (var i = 0; i < _attributed.Length; i++) _attributedSizes[i] = FlatRecordEncoder.ComputeSize(in _attributed[i]);
        _output.ResetWrittenCount();
        _protobufList.Write(_attributed, _attributedSizes, _output);
        return _output.WrittenCount;
    }

    [Benchmark(OperationsPerInvoke = Records)]
    public int Jsonl()
    {
        _output.ResetWrittenCount();
        _jsonl.Write(_records, _sizes, _output);
        return _output.WrittenCount;
    }

    /// <summary>Peer: Google.Protobuf encoding an Envelope of generated messages that already exist.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = Records)]
    public int Google_EncodePrebuilt()
    {
        var stream = new CodedOutputStream(_googleBuffer);
        stream.WriteLength(_envelope.CalculateSize());
        _envelope.WriteTo(stream);
        return (int)stream.Position;
    }

    /// <summary>Peer: the generated-class path end to end (map each record to XtcpFlatRecord, size, encode).</summary>
    [Benchmark(OperationsPerInvoke = Records)]
    public int Google_MapAndEncode()
    {
        var envelope = FlatRecordMapper.ToEnvelope(_records);
        var stream = new CodedOutputStream(_googleBuffer);
        stream.WriteLength(envelope.CalculateSize());
        envelope.WriteTo(stream);
        return (int)stream.Position;
    }
}
