using System.Buffers;
using XtcpEpoll.Netlink.Native;
using static Tmds.Linux.LibC;

namespace XtcpEpoll.Host.Metrics.Http;

/// <summary>Where a connection's request head stands after the bytes buffered so far were read.</summary>
internal enum HeadProgress
{
    /// <summary>No complete head yet and the socket is drained: wait for the next readiness edge.</summary>
    Incomplete,
    /// <summary>A complete head is in <see cref="HttpConnection.Head"/>.</summary>
    Complete,
    /// <summary>The head outgrew the buffer.</summary>
    TooLarge,
    /// <summary>The client closed its side or the socket failed before the head was complete.</summary>
    Gone,
}

/// <summary>Where a response stands after a write attempt.</summary>
internal enum WriteProgress
{
    /// <summary>Every byte was handed to the kernel.</summary>
    Done,
    /// <summary>The send buffer is full (the client is not reading fast enough): wait for EPOLLOUT.</summary>
    Blocked,
    /// <summary>The client went away (EPIPE, ECONNRESET).</summary>
    Gone,
}

/// <summary>
/// One client connection of the metrics endpoint, owned by the endpoint's loop thread: a non-blocking socket
/// that is first read until its request head is complete, then written until its response is out. Both steps
/// stop at EAGAIN and resume on the next epoll edge, so a client that stalls in either costs its slot until
/// <see cref="Deadline"/>, never the thread.
/// </summary>
internal sealed class HttpConnection
{
    private byte[]? _head;
    private int _received;
    private int _headLength = -1;
    private HttpResponse? _response;
    private int _sent;

    public HttpConnection(OwnedFd fd, ulong key, int maxHeadBytes, long deadline)
    {
        Fd = fd;
        Key = key;
        Deadline = deadline;
        _head = ArrayPool<byte>.Shared.Rent(maxHeadBytes);
        MaxHeadBytes = maxHeadBytes;
    }

    public OwnedFd Fd { get; }

    /// <summary>Its epoll key: a sequence number, never reused, so a stale event cannot reach a newer connection.</summary>
    public ulong Key { get; }

    public int MaxHeadBytes { get; }

    /// <summary>Stopwatch timestamp after which the loop closes it (request deadline, then response deadline).</summary>
    public long Deadline { get; private set; }

    /// <summary>True once a response is being written.</summary>
    public bool IsResponding => _response != null;

    /// <summary>The complete request head (valid after <see cref="HeadProgress.Complete"/>).</summary>
    public ReadOnlySpan<byte> Head => _head.AsSpan(0, Math.Max(_headLength, 0));

    /// <summary>Reads whatever is buffered (up to the head limit) and reports whether the head is complete.</summary>
    public HeadProgress ReadHead()
    {
        var buffer = _head.AsSpan(0, MaxHeadBytes);
        while (true)
        {
            if (_received == buffer.Length) return HeadProgress.TooLarge;
            int n = StreamSocket.Receive(Fd, buffer[_received..]);
            if (n == -EAGAIN) return HeadProgress.Incomplete;
            if (n <= 0) return HeadProgress.Gone;
            // Search only where the new bytes can complete the blank line (3 bytes of overlap for "\r\n\r\n").
            int from = Math.Max(0, _received - 3);
            _received += n;
            int end = HttpRequestHead.FindEnd(buffer[from.._received]);
            if (end >= 0)
            {
                _headLength = from + end;
                return HeadProgress.Complete;
            }
        }
    }

    /// <summary>Takes <paramref name="response"/> to write, due by <paramref name="deadline"/>; the head buffer goes back to the pool.</summary>
    public void BeginResponse(HttpResponse response, long deadline)
    {
        ReturnHead();
        _response = response;
        _sent = 0;
        Deadline = deadline;
    }

    /// <summary>Sends as much of the response as the socket takes now.</summary>
    public WriteProgress WriteResponse()
    {
        var bytes = _response!.Bytes;
        while (_sent < bytes.Length)
        {
            int n = StreamSocket.Send(Fd, bytes[_sent..]);
            if (n == -EAGAIN) return WriteProgress.Blocked;
            if (n < 0) return WriteProgress.Gone;
            _sent += n;
        }
        return WriteProgress.Done;
    }

    /// <summary>Gives the buffers back to the pool; the caller closes <see cref="Fd"/>.</summary>
    public void ReleaseBuffers()
    {
        ReturnHead();
        _response?.Release();
    }

    private void ReturnHead()
    {
        var head = _head;
        _head = null;
        if (head != null) ArrayPool<byte>.Shared.Return(head);
    }
}
