using System.Buffers;
using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using XtcpEpoll.Loop.Attribution;
using XtcpEpoll.Loop.Metrics;
using XtcpEpoll.Netlink.Parsing;
using XtcpEpoll.Sinks.Batching;
using XtcpEpoll.Sinks.Records;

namespace XtcpEpoll.Loop.Polling;

/// <summary>
/// One lane's parse thread ("xtcp-parse-i"): the single consumer of the lane's pipe. Walks frames, parses
/// datagrams with SockDiagReader straight into a reusable FlatRecord array, drops duplicate cookies within
/// a namespace's dump, and appends to the sink. The worker that sees the last lane finish a poll ends it.
/// </summary>
internal sealed class ParseWorker
{
    /// <summary>A 64 KiB datagram holds at most ~900 minimal messages; records are appended in chunks of this.</summary>
    private const int RecordChunk = 1024;

    private readonly int _laneIndex;
    private readonly PipeReader _reader;
    private readonly ConcurrentQueue<LanePlan> _plans;
    private readonly IRecordSink _sink;
    private readonly ParseErrorCounters _errors;
    private readonly SocketAttributor _attributor;
    private readonly Action<PollTracker> _onPollEnded;
    private readonly Action<Exception> _onFault;
    private long _sinkErrors;
    private readonly ILogger _logger;
    private readonly Thread _thread;
    private readonly FlatRecord[] _records = new FlatRecord[RecordChunk];
    private readonly byte[] _scratch = new byte[FrameHeader.Size + Lane.RecvSize];
    /// <summary>Per-namespace dedupe and counters of the running poll, indexed by NsIndex; pooled.</summary>
    private DumpProgress?[] _dumps = [];
    private readonly Stack<DumpProgress> _pool = new();
    private LanePlan? _plan;
    private long _pollSockets;

    public ParseWorker(int laneIndex, PipeReader reader, ConcurrentQueue<LanePlan> plans, IRecordSink sink,
        ParseErrorCounters errors, SocketAttributor attributor, Action<PollTracker> onPollEnded, Action<Exception> onFault, ILogger logger)
    {
        _attributor = attributor;
        _laneIndex = laneIndex;
        _reader = reader;
        _plans = plans;
        _sink = sink;
        _errors = errors;
        _onPollEnded = onPollEnded;
        _onFault = onFault;
        _logger = logger;
        _thread = new Thread(Run) { IsBackground = true, Name = $"xtcp-parse-{laneIndex}" };
    }

    public void Start() => _thread.Start();
    public void Join() => _thread.Join();

    private void Run()
    {
        try
        {
            while (true)
            {
                var pending = _reader.ReadAsync();
                var result = pending.IsCompleted ? pending.GetAwaiter().GetResult() : pending.AsTask().GetAwaiter().GetResult();
                var buffer = result.Buffer;
                while (TryTakeFrame(ref buffer)) { }
                _reader.AdvanceTo(buffer.Start, buffer.End);
                if (result.IsCompleted) break;
            }
            _reader.Complete();
        }
        catch (Exception ex)
        {
            _logger.LogCritical(ex, "parse worker {Lane} died", _laneIndex);
            _reader.Complete(ex);
            _onFault(ex);
        }
    }

    private bool TryTakeFrame(ref ReadOnlySequence<byte> buffer)
    {
        if (buffer.Length < FrameHeader.Size) return false;
        FrameHeader header;
        Span<byte> headerBytes = stackalloc byte[FrameHeader.Size];
        buffer.Slice(0, FrameHeader.Size).CopyTo(headerBytes);
        header = MemoryMarshal.Read<FrameHeader>(headerBytes);
        int payload = header.Kind == FrameKind.Datagram ? header.Value : 0;
        if (buffer.Length < FrameHeader.Size + payload) return false;

        var plan = PlanFor(header.PollId);
        switch (header.Kind)
        {
            case FrameKind.Datagram:
                var body = buffer.Slice(FrameHeader.Size, payload);
                if (body.IsSingleSegment) ParseDatagram(plan, header.NsIndex, body.FirstSpan);
                else
                {
                    body.CopyTo(_scratch);
                    ParseDatagram(plan, header.NsIndex, _scratch.AsSpan(0, payload));
                }
                break;
            case FrameKind.NamespaceEnd:
                ReleaseDump(header.NsIndex);
                break;
            case FrameKind.LaneDone:
                EndLane(plan, header.Value != 0, header.NsIndex);
                break;
        }
        buffer = buffer.Slice(FrameHeader.Size + payload);
        return true;
    }

    /// <summary>Plans arrive in the order the lane started them; frames carry their poll id.</summary>
    private LanePlan PlanFor(int pollId)
    {
        while (_plan == null || _plan.Poll.PollId != pollId)
        {
            if (!_plans.TryDequeue(out var next))
                throw new InvalidOperationException($"lane {_laneIndex}: frame for unknown poll {pollId}");
            _plan = next;
            _pollSockets = 0;
            if (_dumps.Length < next.Targets.Length) _dumps = new DumpProgress?[Math.Max(next.Targets.Length, _dumps.Length * 2)];
        }
        return _plan;
    }

    private void ParseDatagram(LanePlan plan, int nsIndex, ReadOnlySpan<byte> datagram)
    {
        var dump = _dumps[nsIndex] ??= _pool.Count > 0 ? _pool.Pop() : new DumpProgress();
        var context = plan.Contexts[nsIndex];
        var reader = new SockDiagReader(datagram, _errors);
        int count = 0;
        while (true)
        {
            ref var record = ref _records[count];
            var item = reader.Next(ref record.Socket);
            if (item == SockDiagItem.Socket)
            {
                if (!dump.Cookies.Add(record.Socket.Cookie)) continue; // seen earlier in this poll's dump
                record.Context = context;
                record.Attribution = _attributor.ForSocket(ref record.Socket, context); // null = the namespace's
                record.RecordCounter = dump.Counter++;
                record.NetlinkerId = (ulong)_laneIndex;
                record.DumpIncomplete = dump.Incomplete;
                if (++count == RecordChunk) { Emit(count); count = 0; }
                continue;
            }
            if (item == SockDiagItem.End || item == SockDiagItem.Done || item == SockDiagItem.Error) break;
        }
        if (reader.DumpInterrupted)
        {
            // The kernel says the table changed under this dump: this datagram's records and the rest of
            // the dump are flagged (records already appended from earlier datagrams cannot be recalled).
            dump.Incomplete = true;
            for (int i = 0; i < count; i++) _records[i].DumpIncomplete = true;
        }
        if (count > 0) Emit(count);
    }

    private void Emit(int count)
    {
        try { _sink.Append(new ReadOnlySpan<FlatRecord>(_records, 0, count)); }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // A failing sink must not stop collection (or leave the lane blocked on a dead pipe): log, go on.
            if (_sinkErrors++ % 1000 == 0) _logger.LogError(ex, "sink rejected {Count} records (lane {Lane})", count, _laneIndex);
            return;
        }
        _pollSockets += count; // xtcp_records_emitted_total is the sink's (records handed to the destination)
    }

    private void ReleaseDump(int nsIndex)
    {
        if ((uint)nsIndex >= (uint)_dumps.Length) return;
        var dump = _dumps[nsIndex];
        if (dump == null) return;
        _dumps[nsIndex] = null;
        dump.Reset();
        _pool.Push(dump);
    }

    private void EndLane(LanePlan plan, bool timedOut, int dumpErrors)
    {
        ThreadAllocations.RecordCurrentThread();
        _attributor.PublishCounts();
        for (int i = 0; i < _dumps.Length; i++) ReleaseDump(i);
        var poll = plan.Poll;
        Interlocked.Add(ref poll.Sockets, _pollSockets);
        _pollSockets = 0;
        if (timedOut) Volatile.Write(ref poll.AnyTimeout, 1);
        if (dumpErrors > 0) Interlocked.Add(ref poll.DumpErrors, dumpErrors);
        if (Interlocked.Decrement(ref poll.LanesRemaining) == 0)
        {
            try { _sink.EndOfPoll(Volatile.Read(ref poll.AnyTimeout) != 0 ? FlushReason.PollTimeout : FlushReason.PollEnd); }
            catch (Exception ex) when (ex is not OutOfMemoryException) { _logger.LogError(ex, "sink failed at the end of poll {Poll}", poll.PollId); }
            _onPollEnded(poll);
        }
    }

    private sealed class DumpProgress
    {
        public readonly HashSet<ulong> Cookies = new();
        public ulong Counter;
        public bool Incomplete;

        public void Reset()
        {
            Cookies.Clear();
            Counter = 0;
            Incomplete = false;
        }
    }
}
