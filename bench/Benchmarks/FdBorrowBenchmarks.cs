using BenchmarkDotNet.Attributes;
using Tmds.Linux;
using XtcpEpoll.Netlink.Native;
using static Tmds.Linux.LibC;

namespace XtcpEpoll.Bench.Benchmarks;

/// <summary>
/// What an <see cref="OwnedFd"/> costs on the lane's recv path: NetlinkSocket.Receive (borrow = AddRef/Release
/// around recv) against the same recv on the raw fd number. Both hit an empty non-blocking sock_diag socket,
/// the cheapest syscall the lane makes (EAGAIN), so the difference is the largest share the borrow can take.
/// </summary>
[MemoryDiagnoser, MinColumn, MedianColumn]
public unsafe class FdBorrowBenchmarks
{
    private readonly byte[] _buffer = new byte[64 * 1024];
    private OwnedFd _socket = null!;

    [GlobalSetup]
    public void Open() =>
        _socket = NetlinkSocket.OpenSockDiag(out int errno) ?? throw new InvalidOperationException($"sock_diag socket: errno {errno}");

    [GlobalCleanup]
    public void Close() => _socket.Dispose();

    [Benchmark(Baseline = true)]
    public long RecvOnRawNumber()
    {
        fixed (byte* p = _buffer)
            return recv(_socket.Number, p, (size_t)(ulong)_buffer.Length, MSG_DONTWAIT | MSG_TRUNC);
    }

    [Benchmark]
    public int RecvThroughOwnedFd() => NetlinkSocket.Receive(_socket, _buffer);
}
