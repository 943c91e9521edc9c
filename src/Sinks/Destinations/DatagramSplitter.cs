using System.Buffers;
using XtcpEpoll.Sinks.Marshal;
using XtcpEpoll.Sinks.Records;

namespace XtcpEpoll.Sinks.Destinations;

public enum DatagramResult { Sent, TooBig, Failed }

/// <summary>Sends one datagram (span-taking, so it cannot be a Func).</summary>
public delegate DatagramResult DatagramSender(ReadOnlySpan<byte> datagram);

/// <summary>
/// Cuts an envelope into datagrams of at most <see cref="Limit"/> bytes, each a complete payload of
/// the same format: protobufList → several smaller protobufList envelopes (grouped by the known row
/// sizes), line formats → at line boundaries, protoJson → re-marshalled halves. When the kernel
/// still says EMSGSIZE, the limit is halved and the piece re-cut (unixgram's real limit depends on
/// SO_SNDBUF). A single row or line larger than the floor cannot be sent: it is counted via
/// <see cref="Unsendable"/>.
/// </summary>
public sealed class DatagramSplitter(int limit)
{
    private const int MinLimit = 2048;
    private readonly ArrayBufferWriter<byte> _scratch = new(64 * 1024);

    public int Limit { get; private set; } = limit;

    /// <summary>Pieces that could not be sent at any size (too big or failed).</summary>
    public long Unsendable { get; private set; }

    public void Send(in OutgoingEnvelope envelope, DatagramSender send)
    {
        var payload = envelope.Payload.Span;
        if (payload.Length <= Limit)
        {
            var result = send(payload);
            if (result == DatagramResult.Sent) return;
            if (result == DatagramResult.Failed || !Shrink()) { Unsendable++; return; }
        }
        switch (envelope.Marshaller.Split)
        {
            case SplitMode.RecordSizes: SendRecordGroups(envelope.Records, envelope.RecordSizes, envelope.Marshaller, send); break;
            case SplitMode.Lines: SendLines(payload, send); break;
            default: SendHalves(envelope.Records, envelope.RecordSizes, envelope.Marshaller, send); break;
        }
    }

    private bool Shrink()
    {
        if (Limit <= MinLimit) return false;
        Limit = Math.Max(MinLimit, Limit / 2);
        return true;
    }

    private void SendRecordGroups(ReadOnlySpan<FlatRecord> records, ReadOnlySpan<int> sizes, IEnvelopeMarshaller marshaller, DatagramSender send)
    {
        if (sizes.Length == records.Length)
        {
            SendRecordGroupsSized(records, sizes, marshaller, send);
            return;
        }
        // Sizes not supplied (callers other than the batcher): compute them once.
        var rented = ArrayPool<int>.Shared.Rent(records.Length);
        try
        {
            for (var i = 0; i < records.Length; i++) rented[i] = FlatRecordEncoder.ComputeSize(in records[i]);
            SendRecordGroupsSized(records, rented.AsSpan(0, records.Length), marshaller, send);
        }
        finally
        {
            ArrayPool<int>.Shared.Return(rented);
        }
    }

    private void SendRecordGroupsSized(ReadOnlySpan<FlatRecord> records, ReadOnlySpan<int> sizes, IEnvelopeMarshaller marshaller, DatagramSender send)
    {
        var start = 0;
        while (start < records.Length)
        {
            long envelope = 0;
            var end = start;
            while (end < records.Length)
            {
                var next = envelope + FlatRecordEncoder.EnvelopeRowSize(sizes[end]);
                if (ProtobufListMarshaller.PayloadSize(next) > Limit && end > start) break;
                envelope = next;
                end++;
            }
            _scratch.ResetWrittenCount();
            marshaller.Write(records[start..end], sizes[start..end], _scratch);
            if (_scratch.WrittenCount > Limit)
            {
                Unsendable++; // one row alone is bigger than a datagram may be
                start = end;
                continue;
            }
            var result = send(_scratch.WrittenSpan);
            if (result == DatagramResult.TooBig && Shrink())
                continue; // re-cut from the same row with the smaller limit
            if (result != DatagramResult.Sent) Unsendable++;
            start = end;
        }
    }

    private void SendLines(ReadOnlySpan<byte> payload, DatagramSender send)
    {
        while (!payload.IsEmpty)
        {
            var window = payload.Length <= Limit ? payload : payload[..Limit];
            var cut = payload.Length <= Limit ? payload.Length : window.LastIndexOf((byte)'\n') + 1;
            if (cut == 0)
            {
                // One line longer than the limit: it cannot go as a datagram; skip to the next line.
                Unsendable++;
                var newline = payload.IndexOf((byte)'\n');
                payload = newline < 0 ? default : payload[(newline + 1)..];
                continue;
            }
            var result = send(payload[..cut]);
            if (result == DatagramResult.TooBig && Shrink()) continue;
            if (result != DatagramResult.Sent) Unsendable++;
            payload = payload[cut..];
        }
    }

    private void SendHalves(ReadOnlySpan<FlatRecord> records, ReadOnlySpan<int> sizes, IEnvelopeMarshaller marshaller, DatagramSender send)
    {
        if (records.IsEmpty) return;
        _scratch.ResetWrittenCount();
        marshaller.Write(records, sizes, _scratch);
        if (_scratch.WrittenCount <= Limit)
        {
            var result = send(_scratch.WrittenSpan);
            if (result == DatagramResult.Sent) return;
            if (result == DatagramResult.Failed || !Shrink()) { Unsendable++; return; }
        }
        if (records.Length == 1) { Unsendable++; return; }
        var half = records.Length / 2;
        SendHalves(records[..half], sizes.IsEmpty ? sizes : sizes[..half], marshaller, send);
        SendHalves(records[half..], sizes.IsEmpty ? sizes : sizes[half..], marshaller, send);
    }
}
