namespace XtcpEpoll.Host.Metrics.Http;

/// <summary>What a complete request head asks for.</summary>
public enum RequestVerdict
{
    /// <summary>GET with an origin-form path.</summary>
    Get,
    /// <summary>HEAD: the headers GET would send, no body.</summary>
    Head,
    /// <summary>A well-formed request line with another method (405).</summary>
    OtherMethod,
    /// <summary>Not "METHOD /path HTTP/x.y" (400).</summary>
    Malformed,
}

/// <summary>
/// The request head as far as this endpoint needs it: where it ends, and the method and path of its request
/// line. Pure functions over received bytes (no socket), never throwing on any input. Headers are not
/// interpreted: every response is "Connection: close" and none depends on them.
/// </summary>
public static class HttpRequestHead
{
    /// <summary>
    /// Length of the head including its blank line, or -1 while incomplete. Lines end with CRLF; a bare LF is
    /// accepted too (RFC 9112 section 2.2 allows it, and a hand-typed request in netcat sends it).
    /// </summary>
    public static int FindEnd(ReadOnlySpan<byte> received)
    {
        int from = 0;
        while (true)
        {
            int lf = received[from..].IndexOf((byte)'\n');
            if (lf < 0) return -1;
            lf += from;
            // The line after this LF is empty when it ends right away: "\n" or "\r\n".
            if (lf + 1 < received.Length && received[lf + 1] == '\n') return lf + 2;
            if (lf + 2 < received.Length && received[lf + 1] == '\r' && received[lf + 2] == '\n') return lf + 3;
            from = lf + 1;
        }
    }

    /// <summary>
    /// Reads the request line "METHOD SP target SP HTTP/x.y" of <paramref name="head"/>; for GET and HEAD,
    /// <paramref name="path"/> is the target without its query string.
    /// </summary>
    public static RequestVerdict Parse(ReadOnlySpan<byte> head, out ReadOnlySpan<byte> path)
    {
        path = default;
        int lineEnd = head.IndexOf((byte)'\n');
        if (lineEnd < 0) return RequestVerdict.Malformed;
        var line = head[..lineEnd];
        if (line.Length > 0 && line[^1] == '\r') line = line[..^1];

        int firstSpace = line.IndexOf((byte)' ');
        if (firstSpace <= 0) return RequestVerdict.Malformed;
        var method = line[..firstSpace];
        var rest = line[(firstSpace + 1)..];
        int secondSpace = rest.IndexOf((byte)' ');
        if (secondSpace <= 0) return RequestVerdict.Malformed;
        var target = rest[..secondSpace];
        var version = rest[(secondSpace + 1)..];
        if (!version.StartsWith("HTTP/"u8) || version.IndexOf((byte)' ') >= 0 || target[0] != '/' || !IsToken(method))
            return RequestVerdict.Malformed;

        int query = target.IndexOf((byte)'?');
        path = query >= 0 ? target[..query] : target;
        if (method.SequenceEqual("GET"u8)) return RequestVerdict.Get;
        if (method.SequenceEqual("HEAD"u8)) return RequestVerdict.Head;
        path = default;
        return RequestVerdict.OtherMethod;
    }

    /// <summary>An RFC 9110 method token: visible ASCII without separators (enough to tell POST from garbage).</summary>
    private static bool IsToken(ReadOnlySpan<byte> method)
    {
        foreach (var b in method)
        {
            if (b <= 32 || b >= 127 || "\"(),/:;<=>?@[\\]{}"u8.IndexOf(b) >= 0) return false;
        }
        return true;
    }
}
