using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace XtcpEpoll.Tests.Sinks.Tls;

/// <summary>
/// A small HTTPS/1.1 server for the http destination's TLS tests (TLS from <see cref="TlsTestListener"/>):
/// keep-alive requests with Content-Length bodies, an optional header every request must carry (401
/// otherwise); it records each accepted POST body.
/// </summary>
public sealed class TlsHttpServer : TlsTestListener
{
    private readonly List<byte[]> _bodies = [];

    public TlsHttpServer(X509Certificate2 certificate) : base(certificate) => StartAccepting();

    /// <summary>When set, every request must carry this header with this value (401 otherwise).</summary>
    public (string Name, string Value)? RequiredHeader { get; set; }

    public int FailedHandshakes => FailedTlsHandshakes;
    public List<byte[]> Bodies { get { lock (_bodies) return [.. _bodies]; } }

    protected override async Task Serve(SslStream tls)
    {
        while (await ServeRequest(tls)) { }
    }
    /// <summary>One request/response on a kept-alive connection; false at the end of the stream.</summary>
    private async Task<bool> ServeRequest(Stream stream)
    {
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var requestLine = await ReadLine(stream);
        if (requestLine == null) return false;
        for (var line = await ReadLine(stream); !string.IsNullOrEmpty(line); line = await ReadLine(stream))
        {
            var colon = line.IndexOf(':');
            headers[line[..colon].Trim()] = line[(colon + 1)..].Trim();
        }
        var body = new byte[headers.TryGetValue("Content-Length", out var length) ? int.Parse(length) : 0];
        await stream.ReadExactlyAsync(body, Stopping.Token);
        var required = RequiredHeader;
        var status = required is { } r && (!headers.TryGetValue(r.Name, out var value) || value != r.Value) ? "401 Unauthorized" : "204 No Content";
        if (status.StartsWith("204", StringComparison.Ordinal))
            lock (_bodies) _bodies.Add(body);
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 {status}\r\nContent-Length: 0\r\n\r\n"), Stopping.Token);
        return true;
    }

    private async Task<string?> ReadLine(Stream stream)
    {
        var bytes = new List<byte>();
        var one = new byte[1];
        while (true)
        {
            if (await stream.ReadAsync(one, Stopping.Token) == 0) return bytes.Count == 0 ? null : Encoding.ASCII.GetString([.. bytes]);
            if (one[0] == '\n') return Encoding.ASCII.GetString([.. bytes]).TrimEnd('\r');
            bytes.Add(one[0]);
        }
    }
}
