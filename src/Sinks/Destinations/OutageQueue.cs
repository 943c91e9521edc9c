using Microsoft.Extensions.Logging;

namespace XtcpEpoll.Sinks.Destinations;

/// <summary>
/// The bounded FIFO of envelope payloads a destination keeps while its endpoint is unreachable or refusing
/// (Kafka brokers down, an HTTPS endpoint whose certificate we do not trust yet): collection goes on, and
/// once deliveries resume every held envelope goes out in order. Bounded by a count and a byte total;
/// beyond either the OLDEST envelopes are dropped, counted in <paramref name="dropped"/> and logged once
/// per episode. Not thread-safe: the owning destination calls it under its own lock.
/// </summary>
public sealed class OutageQueue(int maxEnvelopes, long maxBytes, Prometheus.ICounter dropped, ILogger logger, string what)
{
    private readonly LinkedList<byte[]> _queue = new();
    private bool _dropEpisode;
    private long _droppedTotal;

    public int Count => _queue.Count;
    public long Bytes { get; private set; }
    public bool IsEmpty => _queue.Count == 0;

    /// <summary>Envelopes this queue dropped to stay within its bound.</summary>
    public long Dropped => Interlocked.Read(ref _droppedTotal);

    public byte[] Peek() => _queue.First!.Value;

    /// <summary>A new envelope at the back (the oldest are dropped if the bound is exceeded).</summary>
    public void Add(byte[] payload)
    {
        _queue.AddLast(payload);
        Bytes += payload.Length;
        DropOldestBeyondBound();
    }

    /// <summary>An envelope taken out for delivery that must be retried: back at the front, order kept.</summary>
    public void Return(byte[] payload)
    {
        _queue.AddFirst(payload);
        Bytes += payload.Length;
        DropOldestBeyondBound();
    }

    public byte[] Take()
    {
        var payload = _queue.First!.Value;
        _queue.RemoveFirst();
        Bytes -= payload.Length;
        return payload;
    }

    /// <summary>A delivery succeeded: the next overflow starts a new logged episode.</summary>
    public void Delivered() => _dropEpisode = false;

    private void DropOldestBeyondBound()
    {
        var count = 0;
        while (_queue.Count > 1 && (_queue.Count > maxEnvelopes || Bytes > maxBytes))
        {
            Bytes -= _queue.First!.Value.Length;
            _queue.RemoveFirst();
            count++;
        }
        if (count == 0) return;
        Interlocked.Add(ref _droppedTotal, count);
        dropped.Inc(count);
        if (_dropEpisode) return;
        _dropEpisode = true;
        logger.LogError("{What} queue full ({Max} envelopes / {MaxBytes} bytes): dropping the oldest envelopes until deliveries resume (counted)",
            what, maxEnvelopes, maxBytes);
    }
}
