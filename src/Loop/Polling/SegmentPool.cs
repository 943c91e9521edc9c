using System.Buffers;

namespace XtcpEpoll.Loop.Polling;

/// <summary>
/// The memory behind one lane's pipe: fixed-size blocks kept for the collector's lifetime, owner objects
/// included, so the steady state allocates nothing (the shared pool did not keep blocks rented on one thread
/// and returned on another: design/PERFORMANCE.md, "Figures behind the lane's constants").
/// Thread-safe: the pipe rents on the writer's thread and returns on the reader's.
/// </summary>
internal sealed class SegmentPool : MemoryPool<byte>
{
    private readonly int _blockSize;
    private readonly Stack<Block> _free = new();

    public SegmentPool(int blockSize) => _blockSize = blockSize;

    public override int MaxBufferSize => _blockSize;

    private static long _bytesCreated;

    /// <summary>Blocks created so far (the pool's high-water mark, bounded by the pipe's pause threshold).</summary>
    public int Created { get; private set; }

    /// <summary>Bytes of blocks created by every pool of the process (tests subtract this bounded warm-up growth).</summary>
    public static long BytesCreated => Interlocked.Read(ref _bytesCreated);

    public override IMemoryOwner<byte> Rent(int minBufferSize = -1)
    {
        if (minBufferSize > _blockSize) return new Block(null, new byte[minBufferSize]); // not expected: GetMemory ≤ block
        lock (_free)
        {
            if (_free.Count > 0) return _free.Pop();
            Created++;
        }
        Interlocked.Add(ref _bytesCreated, _blockSize);
        return new Block(this, new byte[_blockSize]);
    }

    private void Return(Block block)
    {
        lock (_free) _free.Push(block);
    }

    protected override void Dispose(bool disposing)
    {
        lock (_free) _free.Clear();
    }

    private sealed class Block(SegmentPool? owner, byte[] array) : IMemoryOwner<byte>
    {
        public Memory<byte> Memory { get; } = array;

        public void Dispose() => owner?.Return(this);
    }
}
