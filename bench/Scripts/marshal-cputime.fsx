// Marshal cost per record in THREAD CPU time, which a loaded machine does not inflate (BenchmarkDotNet
// measures wall time: on a shared 2-core machine its figures swing 2-5x). Same input as MarshalBenchmarks
// (10,000 real-capture records); best of 15 rounds of 20 flushes; peer: Google.Protobuf encoding the same
// rows as generated messages, measured in the same run.
// Run from the repository root after building the bench (it finds the capture from XtcpEpoll.sln):
//   dotnet build bench -c Release -nologo -v q && dotnet fsi --optimize+ bench/Scripts/marshal-cputime.fsx
#I "../bin/Release/net10.0"
#r "xtcp-epoll-bench.dll"
#r "XtcpEpoll.Sinks.dll"
#r "XtcpEpoll.Netlink.dll"
#r "Google.Protobuf.dll"
open System
open System.Runtime.InteropServices
open Google.Protobuf
open XtcpEpoll.Sinks.Records

[<Struct; StructLayout(LayoutKind.Sequential)>]
type Timespec = { mutable sec: int64; mutable nsec: int64 }
[<DllImport("libc")>]
extern int clock_gettime(int clock, Timespec& ts)
let threadCpuNs () =
    let mutable ts = { sec = 0L; nsec = 0L }
    clock_gettime(3 (* CLOCK_THREAD_CPUTIME_ID *), &ts) |> ignore
    ts.sec * 1_000_000_000L + ts.nsec

let records = XtcpEpoll.Bench.Benchmarks.MarshalRecords.Load(10000)
let sizes = Array.init records.Length (fun i -> FlatRecordEncoder.ComputeSize(&records.[i]))
let output = System.Buffers.ArrayBufferWriter<byte>(64 <<< 20)
let marshaller = XtcpEpoll.Sinks.Marshal.ProtobufListMarshaller()
let envelope = FlatRecordMapper.ToEnvelope(ReadOnlySpan(records))
let googleBuffer = Array.zeroCreate<byte> (envelope.CalculateSize() + 16)

let encode () =
    output.ResetWrittenCount()
    marshaller.Write(ReadOnlySpan(records), ReadOnlySpan(sizes), output)
let size () =
    for i in 0 .. records.Length - 1 do sizes.[i] <- FlatRecordEncoder.ComputeSize(&records.[i])
let google () =
    let stream = new CodedOutputStream(googleBuffer)
    stream.WriteLength(envelope.CalculateSize())
    envelope.WriteTo(stream)

for _ in 1 .. 200 do encode (); size (); google ()   // past tiered JIT
let best f =
    let mutable b = Int64.MaxValue
    for _ in 1 .. 15 do
        let t0 = threadCpuNs ()
        for _ in 1 .. 20 do f ()
        b <- min b (threadCpuNs () - t0)
    float b / 20.0 / float records.Length
let allocated0 = GC.GetAllocatedBytesForCurrentThread()
encode ()
let allocated = GC.GetAllocatedBytesForCurrentThread() - allocated0
let e, s, g = best encode, best size, best google
printfn "protobufList encode %.1f ns/record, size %.1f ns/record, Google.Protobuf prebuilt %.1f ns/record (encode/Google %.2f); %.1f bytes/record; %d B allocated per 10,000-record flush"
    e s g (e / g) (float output.WrittenCount / float records.Length) allocated
