using XtcpEpoll.Sinks.Batching;
using XtcpEpoll.Sinks.Records;

namespace XtcpEpoll.Host.Control;

/// <summary>
/// The sink seen by the collector when the control plane runs: every record goes to the real sink first, then
/// (only while someone streams) is encoded ONCE as an XtcpFlatRecord message and offered to each subscriber's
/// bounded queue. Nothing here waits on a client: a slow stream loses records, never delays a poll or a sink.
/// </summary>
public sealed class RecordTap : IRecordSink, IDisposable
{
    private readonly IRecordSink _inner;
    private readonly object _gate = new();
    private StreamSubscriber[] _subscribers = [];

    public RecordTap(IRecordSink inner) => _inner = inner;

    public int SubscriberCount => Volatile.Read(ref _subscribers).Length;

    public void Subscribe(StreamSubscriber subscriber)
    {
        lock (_gate) _subscribers = [.. _subscribers, subscriber];
        ControlMetrics.StreamSubscribers.Inc();
    }

    public void Unsubscribe(StreamSubscriber subscriber)
    {
        lock (_gate)
        {
            int index = Array.IndexOf(_subscribers, subscriber);
            if (index < 0) return;
            var next = new StreamSubscriber[_subscribers.Length - 1];
            Array.Copy(_subscribers, 0, next, 0, index);
            Array.Copy(_subscribers, index + 1, next, index, next.Length - index);
            _subscribers = next;
        }
        subscriber.Complete();
        ControlMetrics.StreamSubscribers.Dec();
    }

    public void Append(ReadOnlySpan<FlatRecord> records)
    {
        _inner.Append(records);
        var subscribers = Volatile.Read(ref _subscribers);
        if (subscribers.Length == 0) return;
        foreach (ref readonly var record in records)
        {
            long pollTimestampNs = record.Context.TimestampNs;
            bool isSnapshot = record.RecordOrigin == RecordOrigins.PollSnapshot;
            TappedRecord tapped = default;
            foreach (var subscriber in subscribers)
            {
                if (!subscriber.Wants(pollTimestampNs, isSnapshot)) continue;
                if (tapped.Message == null)
                {
                    // Encoded once, when first wanted; immutable from here on and shared by every queue.
                    var message = new byte[FlatRecordEncoder.ComputeSize(in record)];
                    FlatRecordEncoder.Write(in record, message);
                    tapped = new TappedRecord(message, pollTimestampNs, isSnapshot);
                }
                subscriber.Offer(in tapped);
            }
        }
    }

    public void EndOfPoll(FlushReason reason) => _inner.EndOfPoll(reason);

    public Task ShutdownAsync(TimeSpan timeout)
    {
        foreach (var subscriber in Volatile.Read(ref _subscribers)) subscriber.Complete();
        return _inner.ShutdownAsync(timeout);
    }

    public void Dispose() => (_inner as IDisposable)?.Dispose();
}
