using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using XtcpEpoll.Sinks.Metrics;
using XtcpEpoll.Sinks.Records;

namespace XtcpEpoll.Sinks.Destinations;

/// <summary>
/// tcp:HOST:PORT and unix:PATH: a stream connection carrying each payload framed as
/// varint(len) || payload. A lost connection is re-established with exponential backoff (100 ms up to
/// ReconnectBackoffMax); payloads flushed while disconnected are counted as errors and dropped rather
/// than queued, so an absent peer neither blocks collection nor grows memory.
/// </summary>
public sealed class StreamSocketDestination : IDestination
{
    private static readonly TimeSpan FirstBackoff = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan SendTimeout = TimeSpan.FromSeconds(10);

    private readonly Func<Socket> _createSocket;
    private readonly EndPoint? _endPoint;
    private readonly string? _host;
    private readonly int _port;
    private readonly TimeSpan _backoffMax;
    private readonly DestinationCounters _counters;
    private readonly ErrorEpisode _episode;
    private readonly byte[] _prefix = new byte[10];
    private Socket? _socket;
    private DateTime _nextAttempt = DateTime.MinValue;
    private TimeSpan _backoff = FirstBackoff;

    private StreamSocketDestination(string name, string what, Func<Socket> createSocket, EndPoint? endPoint, string? host, int port, TimeSpan backoffMax, ILogger logger)
    {
        Name = name;
        _createSocket = createSocket;
        _endPoint = endPoint;
        _host = host;
        _port = port;
        _backoffMax = backoffMax;
        _counters = new DestinationCounters(name);
        _episode = new ErrorEpisode(logger, what);
    }

    public static StreamSocketDestination Tcp(string host, int port, TimeSpan backoffMax, ILogger logger) =>
        new("tcp", $"tcp {host}:{port}", () => new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true }, null, host, port, backoffMax, logger);

    public static StreamSocketDestination Unix(string path, TimeSpan backoffMax, ILogger logger) =>
        new("unix", "unix " + path, () => new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified),
            new UnixDomainSocketEndPoint(path), null, 0, backoffMax, logger);

    public string Name { get; }

    public bool Connected => _socket != null;

    public void Send(in OutgoingEnvelope envelope)
    {
        var payload = envelope.Payload.Span;
        if (_socket == null && !TryConnect())
        {
            _counters.Errors.Inc();
            return;
        }
        try
        {
            var prefixLength = ProtoWire.WriteVarint(_prefix, 0, (ulong)payload.Length);
            SendAll(_socket!, _prefix.AsSpan(0, prefixLength));
            SendAll(_socket!, payload);
            _counters.Sent(payload.Length);
            _episode.Success();
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            _counters.Errors.Inc();
            _episode.Failure(e, $"send failed ({e.Message}); reconnecting");
            Disconnect();
        }
    }

    private static void SendAll(Socket socket, ReadOnlySpan<byte> data)
    {
        while (!data.IsEmpty)
            data = data.Slice(socket.Send(data));
    }

    private bool TryConnect()
    {
        if (DateTime.UtcNow < _nextAttempt) return false;
        var socket = _createSocket();
        try
        {
            socket.SendTimeout = (int)SendTimeout.TotalMilliseconds;
            using var cts = new CancellationTokenSource(ConnectTimeout);
            var connect = _endPoint != null
                ? socket.ConnectAsync(_endPoint, cts.Token)
                : socket.ConnectAsync(_host!, _port, cts.Token);
            connect.AsTask().GetAwaiter().GetResult();
            _socket = socket;
            _backoff = FirstBackoff;
            return true;
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            socket.Dispose();
            _episode.Failure(e, $"connect failed ({e.Message}); retrying with backoff up to {_backoffMax}");
            _nextAttempt = DateTime.UtcNow + _backoff;
            _backoff = _backoff * 2 < _backoffMax ? _backoff * 2 : _backoffMax;
            return false;
        }
    }

    private void Disconnect()
    {
        _socket?.Dispose();
        _socket = null;
        _nextAttempt = DateTime.MinValue; // first reconnect attempt right away, then backoff
    }

    public bool Flush(TimeSpan timeout) => true;

    public void Dispose() => Disconnect();
}
