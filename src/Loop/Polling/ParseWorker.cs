using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using XtcpEpoll.Loop.Changes;
using XtcpEpoll.Loop.Dumps;
using XtcpEpoll.Loop.Metrics;
using XtcpEpoll.Loop.Parsing;
using XtcpEpoll.Sinks.Records;

namespace XtcpEpoll.Loop.Polling;

/// <summary>
/// One lane's parse thread ("xtcp-parse-i"): the single consumer of the lane's pipe. Walks the frames, hands
/// each datagram to the <see cref="DumpDecoder"/> with its namespace's <see cref="DumpRecords"/> (dedupe and
/// numbering per namespace per poll), and at the lane's LaneDone reports the lane's counts, completed with
/// the records it appended, to the control thread, which alone ends the poll. Destroy-event frames come at
/// any time: each becomes a record (record_origin 1) of its namespace, appended at once (the sink flushes it
/// at the next end of poll at the latest) and counted in the next LaneDone.
/// Owner: its own thread for every field (built by the control thread before it starts); what it shares is
/// the pipe, the <see cref="PlanSlot"/> and the <see cref="EventSources"/>, each with its own hand-over rule.
/// </summary>
internal sealed class ParseWorker
{
    private readonly int _laneIndex;
    private readonly PipeReader _reader;
    private readonly PlanSlot _plans;
    private readonly EventSources _eventSources;
    private readonly DumpDecoder _decoder;
    private readonly Action<int, LaneCounts> _onLaneDone;
    private readonly Action<Exception> _onFault;
    private readonly ILogger _logger;
    private readonly Thread _thread;
    private readonly byte[] _scratch = new byte[FrameHeader.Size + FrameWriter.RecvSize];
    /// <summary>Per-namespace progress of the running poll, indexed by NsIndex; pooled.</summary>
    private DumpRecords?[] _dumps = [];
    private readonly Stack<DumpRecords> _pool = new();
    private int _pollId;
    private long _pollRecords;
    private long _destroyRecords;

    /// <param name="onLaneDone">Called on this thread with (poll id, the lane's counts) after the lane's last frame of a poll.</param>
    public ParseWorker(int laneIndex, PipeReader reader, PlanSlot plans, EventSources eventSources, DumpDecoder decoder,
        Action<int, LaneCounts> onLaneDone, Action<Exception> onFault, ILogger logger)
    {
        _laneIndex = laneIndex;
        _reader = reader;
        _plans = plans;
        _eventSources = eventSources;
        _decoder = decoder;
        _onLaneDone = onLaneDone;
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
        Span<byte> headerBytes = stackalloc byte[FrameHeader.Size];
        buffer.Slice(0, FrameHeader.Size).CopyTo(headerBytes);
        var header = MemoryMarshal.Read<FrameHeader>(headerBytes);
        int payload = header.PayloadLength;
        if (buffer.Length < FrameHeader.Size + payload) return false;

        var body = buffer.Slice(FrameHeader.Size, payload);
        var bytes = body.IsSingleSegment ? body.FirstSpan : CopyToScratch(body);
        buffer = buffer.Slice(FrameHeader.Size + payload);
        if (!header.BelongsToPoll)
        {
            TakeEventFrame(header.Kind, bytes);
            return true;
        }
        var plan = _plans.For(header.PollId);
        if (header.PollId != _pollId) BeginPoll(plan);
        switch (header.Kind)
        {
            case FrameKind.Datagram:
            case FrameKind.InterruptedDatagram:
                var dump = _dumps[header.NsIndex] ??= StartDump(plan, header.NsIndex);
                if (header.Kind == FrameKind.InterruptedDatagram) dump.Incomplete = true; // the lane read NLM_F_DUMP_INTR
                _pollRecords += _decoder.AppendSnapshot(bytes, dump, plan.Contexts[header.NsIndex]);
                break;
            case FrameKind.NamespaceEnd:
                Release(header.NsIndex);
                break;
            case FrameKind.LaneDone:
                EndLane(header.PollId, MemoryMarshal.Read<LaneCounts>(bytes));
                break;
        }
        return true;
    }

    /// <summary>A frame outside any poll: a destroy event (→ one record, stamped with its read time) or a namespace gone.</summary>
    private void TakeEventFrame(FrameKind kind, ReadOnlySpan<byte> bytes)
    {
        if (kind == FrameKind.NamespaceGone)
        {
            _eventSources.Forget(MemoryMarshal.Read<ulong>(bytes));
            return;
        }
        var header = MemoryMarshal.Read<DestroyEventHeader>(bytes);
        var handle = _eventSources.Find(header.NamespaceId);
        var context = handle?.EventContext
            ?? throw new InvalidOperationException($"destroy event of namespace {header.NamespaceId}, which lane {_laneIndex} never announced");
        _destroyRecords += _decoder.DecodeEvents(bytes.Slice(DestroyEventHeader.Size), context, header.ReadTimeNs, handle.DestroyOwners);
    }

    private ReadOnlySpan<byte> CopyToScratch(ReadOnlySequence<byte> body)
    {
        body.CopyTo(_scratch);
        return _scratch.AsSpan(0, (int)body.Length);
    }

    private void BeginPoll(LanePlan plan)
    {
        _pollId = plan.PollId;
        _pollRecords = 0;
        if (_dumps.Length < plan.Targets.Length) _dumps = new DumpRecords?[Math.Max(plan.Targets.Length, _dumps.Length * 2)];
    }

    /// <summary>
    /// A namespace's first datagram of the poll; under --emit changed its fingerprints decide what it emits,
    /// and its destroy owners (when it keeps them) remember the sockets attributed by their own cgroup.
    /// </summary>
    private DumpRecords StartDump(LanePlan plan, int nsIndex)
    {
        var dump = _pool.Count > 0 ? _pool.Pop() : new DumpRecords();
        var handle = plan.Targets[nsIndex];
        if (_decoder.Keyframes is { } keyframes)
        {
            dump.Changes = handle.Fingerprints ??= new FingerprintTable(keyframes);
            dump.Changes.BeginPoll((uint)plan.PollId);
        }
        dump.Owners = handle.DestroyOwners = KeepsDestroyOwners(handle, plan.Contexts[nsIndex]) ? handle.DestroyOwners ?? new DestroyOwners() : null;
        dump.Owners?.BeginPoll();
        return dump;
    }

    /// <summary>
    /// Only a namespace of no owner needs its sockets' owners for their destroy records (in one that has an owner
    /// they carry it): the table is made when that holds and dropped (with what it held) when it stops holding.
    /// </summary>
    private bool KeepsDestroyOwners(NamespaceHandle handle, RecordContext context) =>
        _decoder.AttributesSockets && handle.DestroyFd != null && context.Attribution.IsNone;

    private void Release(int nsIndex)
    {
        if ((uint)nsIndex >= (uint)_dumps.Length) return;
        var dump = _dumps[nsIndex];
        if (dump == null) return;
        _dumps[nsIndex] = null;
        dump.Changes?.EndPoll(); // forgets the sockets this dump did not report
        dump.Owners?.EndPoll();  // forgets those the last two dumps did not report (see DestroyOwners)
        dump.Reset();
        _pool.Push(dump);
    }

    private void EndLane(int pollId, LaneCounts counts)
    {
        ThreadAllocations.RecordCurrentThread();
        for (int i = 0; i < _dumps.Length; i++) Release(i);
        _decoder.PublishCounts();
        counts.AddRecords(_pollRecords, _destroyRecords);
        _pollRecords = 0;
        _destroyRecords = 0;
        _onLaneDone(pollId, counts);
    }
}
