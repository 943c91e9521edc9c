using XtcpEpoll.Sinks.Records;

namespace XtcpEpoll.Sinks.Batching;

/// <summary>
/// One envelope being filled or waiting to be sent: records (copied in, so receive buffers can be
/// reused at once), their encoded sizes, and the running Envelope size. Pooled by the batcher; its
/// arrays grow to the largest envelope seen and are then reused.
/// <para>
/// They grow to what the envelope will hold, not by doubling: a record is a few hundred bytes of struct,
/// and every pooled envelope keeps its arrays, so doubling past the ~2,000 rows a default envelope holds
/// left up to half of each array unused for the life of the process (issue 20, design/PERFORMANCE.md
/// "Native AOT"). When full, the batch extrapolates the rows still to come from the bytes left under the
/// size cap at the average row size so far, bounded by the rows cap.
/// </para>
/// </summary>
public sealed class EnvelopeBatch
{
    /// <summary>Least growth (rows) when extrapolation says only a few more records fit.</summary>
    private const int MinGrowth = 64;

    private readonly int _maxRows;
    private readonly long _maxBytes;
    private FlatRecord[] _records;
    private int[] _sizes;

    /// <param name="initialCapacity">Rows allocated up front.</param>
    /// <param name="maxRows">The rows cap (--envelope-flush-rows): the arrays never grow past it.</param>
    /// <param name="maxBytes">The size cap (--envelope-flush-bytes) the growth extrapolates to.</param>
    public EnvelopeBatch(int initialCapacity, int maxRows, long maxBytes)
    {
        _maxRows = Math.Max(1, maxRows);
        _maxBytes = maxBytes;
        initialCapacity = Math.Clamp(initialCapacity, 1, _maxRows);
        _records = new FlatRecord[initialCapacity];
        _sizes = new int[initialCapacity];
    }

    /// <summary>Rows the arrays hold now (what this envelope costs in memory).</summary>
    public int Capacity => _records.Length;

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
            var capacity = GrownCapacity(rowBytes);
            Array.Resize(ref _records, capacity);
            Array.Resize(ref _sizes, capacity);
        }
        _records[Count] = record;
        _sizes[Count] = size;
        Count++;
        EnvelopeBytes += rowBytes;
    }

    /// <summary>Rows this envelope is expected to hold in all: those in it, the one being added, and as many more of the average size as fit under the size cap.</summary>
    private int GrownCapacity(int rowBytes)
    {
        var bytes = EnvelopeBytes + rowBytes;
        var average = Math.Max(1, bytes / (Count + 1));
        var more = Math.Max(0, _maxBytes - bytes) / average;
        var expected = Count + 1 + Math.Max(more, MinGrowth);
        return (int)Math.Min(expected, Math.Max(_maxRows, Count + 1));
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
