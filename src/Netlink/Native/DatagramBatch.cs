using System.Runtime.InteropServices;
using static Tmds.Linux.LibC;

namespace XtcpEpoll.Netlink.Native;

/// <summary>
/// Up to <see cref="Capacity"/> datagrams of one socket read by one recvmmsg, into slots of native memory made
/// once (one per lane, lane thread only). For rounds of exact lookups, whose answers are one small datagram
/// each, all queued inside the sendmsg that asked: one syscall for up to 32 of them instead of one each (one recv
/// per answer was mostly syscall entry and exit; design/PERFORMANCE.md, "Figures behind code choices"). Slots
/// are as large as a recv's buffer, so nothing is cut that a recv would not cut; the memory is virtual until the
/// kernel writes a datagram into it (a ~500-byte answer touches one page of its slot).
/// </summary>
public sealed unsafe class DatagramBatch : IDisposable
{
    public const int Capacity = 32;

    private readonly int _slotSize;
    private byte* _slots;
    private readonly IoVec* _iovecs;
    private readonly MMsgHdr* _headers;

    public DatagramBatch(int slotSize)
    {
        _slotSize = slotSize;
        _slots = (byte*)NativeMemory.Alloc((nuint)(Capacity * slotSize));
        _iovecs = (IoVec*)NativeMemory.Alloc((nuint)(Capacity * sizeof(IoVec)));
        _headers = (MMsgHdr*)NativeMemory.AllocZeroed((nuint)(Capacity * sizeof(MMsgHdr)));
        for (int i = 0; i < Capacity; i++)
        {
            _iovecs[i] = new IoVec { Base = _slots + (long)i * slotSize, Length = (nuint)slotSize };
            _headers[i].Header.Iov = &_iovecs[i];
            _headers[i].Header.IovLength = 1;
        }
    }

    /// <summary>Reads what is queued, without blocking: the number of datagrams (≥ 1), or -errno (-EAGAIN: nothing queued).</summary>
    public int Receive(OwnedFd socket)
    {
        using var fd = socket.Borrow();
        while (true)
        {
            int n = LibCAdditions.recvmmsg(fd.Fd, _headers, Capacity, MSG_DONTWAIT, null);
            if (n >= 0) return n;
            int error = Errno.Last;
            if (error != EINTR) return -error;
        }
    }

    /// <summary>Datagram <paramref name="index"/> of the last <see cref="Receive"/>; <paramref name="truncated"/>: it did not fit its slot.</summary>
    public ReadOnlySpan<byte> Datagram(int index, out bool truncated)
    {
        ref var header = ref _headers[index];
        truncated = (header.Header.Flags & MSG_TRUNC) != 0;
        return new ReadOnlySpan<byte>(_slots + (long)index * _slotSize, (int)Math.Min(header.Length, (uint)_slotSize));
    }

    public void Dispose()
    {
        if (_slots == null) return;
        NativeMemory.Free(_slots);
        NativeMemory.Free(_iovecs);
        NativeMemory.Free(_headers);
        _slots = null;
    }
}
