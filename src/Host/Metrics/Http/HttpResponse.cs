using System.Buffers;
using System.Text.Unicode;

namespace XtcpEpoll.Host.Metrics.Http;

/// <summary>
/// One complete response (status line, headers and, unless it answers HEAD, the body) in a buffer rented from
/// the shared pool, so a connection can write it out over several non-blocking sends. Return it with
/// <see cref="Release"/> once written or abandoned.
/// </summary>
internal sealed class HttpResponse
{
    /// <summary>Status line and headers never exceed this (the longest reason, a 10-digit length, Allow).</summary>
    private const int MaxHeadBytes = 256;

    private byte[]? _buffer;

    private HttpResponse(int status, byte[] buffer, int length)
    {
        Status = status;
        _buffer = buffer;
        Length = length;
    }

    public int Status { get; }

    /// <summary>Bytes to send: head, then body unless the request was HEAD.</summary>
    public int Length { get; }

    public ReadOnlySpan<byte> Bytes => _buffer.AsSpan(0, Length);

    /// <summary>
    /// Builds the response to send. <paramref name="withBody"/> false (HEAD): the same head, including the
    /// Content-Length of <paramref name="body"/>, which GET would send (RFC 9110 section 9.3.2), and no body.
    /// </summary>
    public static HttpResponse Create(int status, ReadOnlySpan<byte> contentType, ReadOnlySpan<byte> body, bool withBody)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(MaxHeadBytes + (withBody ? body.Length : 0));
        var allow = status == 405 ? "Allow: GET, HEAD\r\n" : "";
        if (!Utf8.TryWrite(buffer, $"HTTP/1.1 {status} {Reason(status)}\r\nContent-Type: ", out int length))
            throw new InvalidOperationException("response head exceeds its buffer");
        contentType.CopyTo(buffer.AsSpan(length));
        length += contentType.Length;
        if (!Utf8.TryWrite(buffer.AsSpan(length), $"\r\nContent-Length: {body.Length}\r\n{allow}Connection: close\r\n\r\n", out int written))
            throw new InvalidOperationException("response head exceeds its buffer");
        length += written;
        if (withBody)
        {
            body.CopyTo(buffer.AsSpan(length));
            length += body.Length;
        }
        return new HttpResponse(status, buffer, length);
    }

    /// <summary>Gives the buffer back to the pool (idempotent).</summary>
    public void Release()
    {
        var buffer = _buffer;
        _buffer = null;
        if (buffer != null) ArrayPool<byte>.Shared.Return(buffer);
    }

    private static string Reason(int status) => status switch
    {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => throw new ArgumentOutOfRangeException(nameof(status), status, "no reason phrase for this status"),
    };
}
