using XtcpEpoll.Sinks.Records;

namespace XtcpEpoll.Sinks.Batching;

/// <summary>
/// One envelope being filled or waiting to be sent: records (copied in, so receive buffers can be
/// reused at once), their encoded sizes, and the running Envelope size. Pooled by the batcher; its
/// arrays grow to the largest envelope seen and are then reused.
/// </summary>
public sealed class EnvelopeBatch
{
    private FlatRecord[] _records;
    private int[] _sizes;

    public EnvelopeBatch(int initialCapacity)
    {
        _records = new FlatRecord[initialCapacity];
        _sizes = new int[initialCapacity];
    }

    public int Count { get; private set; }
    /// <summary>Encoded Envelope size so far: Σ (row tag + length varint + record size).</summary>
    public long EnvelopeBytes { get; private set; }
    public FlushReason Reason { get; set; }

    public ReadOnlySpan<FlatRecord> Records => _records.AsSpan(0, Count);
    public ReadOnlySpan<int> Sizes => _sizes.AsSpan(0, Count);

    public void Add(in FlatRecord record, int size, int rowBytes)
    {
        if (Count == _records.Length)
        {
            Array.Resize(ref _records, _records.Length * 2);
            Array.Resize(ref _sizes, _sizes.Length * 2);
        }
        _records[Count] = record;
        _sizes[Count] = size;
        Count++;
        EnvelopeBytes += rowBytes;
    }

    /// <summary>Empties the batch, dropping context and attribution references so old polls' objects can be collected.</summary>
    public void Reset()
    {
        for (var i = 0; i < Count; i++)
        {
            _records[i].Context = null!;
            _records[i].Attribution = null;
        }
        Count = 0;
        EnvelopeBytes = 0;
    }
}
