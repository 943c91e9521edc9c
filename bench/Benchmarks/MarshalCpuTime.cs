using System.Buffers;
using System.Globalization;
using Google.Protobuf;
using XtcpEpoll.Bench.Harness.Infra;
using XtcpEpoll.Netlink.Native;
using XtcpEpoll.Sinks.Marshal;
using XtcpEpoll.Sinks.Records;

namespace XtcpEpoll.Bench.Benchmarks;

/// <summary>
/// `xtcp-epoll-bench marshal-cputime`: marshal cost per record in THREAD CPU time, which a loaded machine does
/// not inflate (BenchmarkDotNet measures wall time: on a shared 2-core machine its figures swing 2-5x). Same
/// input as <see cref="MarshalBenchmarks"/> (10,000 real-capture records); the best of 15 rounds of 20 flushes;
/// peer: Google.Protobuf encoding the same rows as generated messages, measured in the same run. No root needed.
/// </summary>
public static class MarshalCpuTime
{
    public const string Usage = "marshal-cputime [--records 10000] [--rounds 15] [--flushes 20] [--warmup 200]";

    public static int Run(string[] args)
    {
        int count, rounds, flushes, warmup;
        try
        {
            var options = new HarnessOptions(args);
            count = options.Int("records", 10_000);
            rounds = options.Int("rounds", 15);
            flushes = options.Int("flushes", 20);
            warmup = options.Int("warmup", 200);
            options.RejectUnknown();
            if (count < 1 || rounds < 1 || flushes < 1 || warmup < 0) throw new ArgumentException("--records, --rounds and --flushes must be at least 1, --warmup at least 0");
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine($"marshal-cputime: {e.Message}\nusage: xtcp-epoll-bench {Usage}");
            return 2;
        }

        var records = MarshalRecords.Load(count);
        var sizes = new int[records.Length];
        var output = new ArrayBufferWriter<byte>(64 << 20);
        var marshaller = new ProtobufListMarshaller();
        var envelope = FlatRecordMapper.ToEnvelope(records);
        var googleBuffer = new byte[envelope.CalculateSize() + 16];

        void Size()
        {
            for (var i = 0; i < records.Length; i++) sizes[i] = FlatRecordEncoder.ComputeSize(in records[i]);
        }
        void Encode()
        {
            output.ResetWrittenCount();
            marshaller.Write(records, sizes, output);
        }
        void Google()
        {
            var stream = new CodedOutputStream(googleBuffer);
            stream.WriteLength(envelope.CalculateSize());
            envelope.WriteTo(stream);
        }
        double BestNsPerRecord(Action flush)
        {
            var best = long.MaxValue;
            for (var round = 0; round < rounds; round++)
            {
                var start = ThreadCpuClock.NowNs();
                for (var f = 0; f < flushes; f++) flush();
                best = Math.Min(best, ThreadCpuClock.NowNs() - start);
            }
            return best / (double)flushes / records.Length;
        }

        Size();
        for (var i = 0; i < warmup; i++) { Encode(); Size(); Google(); } // past tiered JIT
        var allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        Encode();
        var allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
        double encode = BestNsPerRecord(Encode), size = BestNsPerRecord(Size), google = BestNsPerRecord(Google);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"protobufList encode {encode:F1} ns/record, size {size:F1} ns/record, Google.Protobuf prebuilt {google:F1} ns/record (encode/Google {encode / google:F2}); "
            + $"{output.WrittenCount / (double)records.Length:F1} bytes/record; {allocated} B allocated per {records.Length:N0}-record flush "
            + $"(thread CPU, best of {rounds} rounds x {flushes} flushes)"));
        return 0;
    }
}
