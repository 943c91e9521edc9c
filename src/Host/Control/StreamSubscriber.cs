using System.Threading.Channels;

namespace XtcpEpoll.Host.Control;

/// <summary>One encoded record as a subscriber receives it: the bytes are shared by every subscriber (read-only).</summary>
public readonly record struct TappedRecord(byte[] Message, long PollTimestampNs, bool IsSnapshot);

/// <summary>
/// One stream client's bounded queue. Parse workers offer records without ever waiting: a full queue drops the
/// record (counted), and a client that lets <see cref="DisconnectAfterDrops"/> records drop in a row (nothing sent
/// meanwhile) is disconnected: it is stuck, and holding its queue helps nobody.
/// </summary>
public sealed class StreamSubscriber
{

    private readonly Channel<TappedRecord> _queue;
    private readonly Func<long, bool, bool> _wants;
    private readonly CancellationTokenSource _disconnect = new();
    private long _dropsInARow;
    private long _dropped;

    /// <param name="wants">(poll timestamp ns, is a poll snapshot) -> take it; null = every record.</param>
    /// <param name="capacity">--stream-queue: about 4 MB at the default 8192 records of ~500 B.</param>
    public StreamSubscriber(Func<long, bool, bool>? wants, int capacity)
    {
        _wants = wants ?? (static (_, _) => true);
        Capacity = capacity;
        DisconnectAfterDrops = 4L * capacity;
        _queue = Channel.CreateBounded<TappedRecord>(new BoundedChannelOptions(capacity)
        {
            FullMode = BoundedChannelFullMode.Wait, // TryWrite fails instead of waiting: the drop is ours to count
            SingleReader = true,
            SingleWriter = false,
        });
    }

    public int Capacity { get; }
    public long DisconnectAfterDrops { get; }

    /// <summary>Cancelled when the subscriber fell too far behind (the stream is then ended by its handler).</summary>
    public CancellationToken Disconnected => _disconnect.Token;

    /// <summary>Records dropped for this subscriber so far.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    public ChannelReader<TappedRecord> Reader => _queue.Reader;

    /// <summary>Whether this subscriber takes records like this one (called on parse workers: cheap, no I/O).</summary>
    public bool Wants(long pollTimestampNs, bool isSnapshot) => _wants(pollTimestampNs, isSnapshot);

    /// <summary>Queue the record or drop it (parse worker thread; never blocks).</summary>
    public void Offer(in TappedRecord record)
    {
        if (_queue.Writer.TryWrite(record)) return;
        Interlocked.Increment(ref _dropped);
        ControlMetrics.StreamRecordsDropped.Inc();
        if (Interlocked.Increment(ref _dropsInARow) == DisconnectAfterDrops)
        {
            ControlMetrics.StreamDisconnects.Inc();
            _disconnect.Cancel();
        }
    }

    /// <summary>The client took a record: it is alive, its next drops start a new count.</summary>
    public void Sent() => Interlocked.Exchange(ref _dropsInARow, 0);

    public void Complete() => _queue.Writer.TryComplete();
}
