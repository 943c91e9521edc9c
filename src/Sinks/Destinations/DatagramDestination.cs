using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using XtcpEpoll.Sinks.Metrics;

namespace XtcpEpoll.Sinks.Destinations;

/// <summary>
/// udp:HOST:PORT and unixgram:PATH: one datagram per payload, envelopes split (see
/// <see cref="DatagramSplitter"/>) so no datagram exceeds the protocol limit. The socket is connected
/// lazily and re-created after an error; every failed datagram is counted.
/// </summary>
public sealed class DatagramDestination : IDestination
{
    private readonly Func<Socket> _createSocket;
    private readonly Func<EndPoint> _resolve;
    private readonly DestinationCounters _counters;
    private readonly ErrorEpisode _episode;
    private readonly DatagramSplitter _splitter;
    private readonly DatagramSender _sender;
    private Socket? _socket;

    private DatagramDestination(string name, string what, Func<Socket> createSocket, Func<EndPoint> resolve, int limit, ILogger logger)
    {
        Name = name;
        _createSocket = createSocket;
        _resolve = resolve;
        _counters = new DestinationCounters(name);
        _episode = new ErrorEpisode(logger, what);
        _splitter = new DatagramSplitter(limit);
        _sender = SendDatagram;
    }

    public static DatagramDestination Udp(string host, int port, int limit, ILogger logger)
    {
        EndPoint Resolve()
        {
            var addresses = Dns.GetHostAddresses(host);
            if (addresses.Length == 0) throw new SocketException((int)SocketError.HostNotFound);
            return new IPEndPoint(addresses[0], port);
        }
        return new DatagramDestination("udp", $"udp {host}:{port}",
            () => new Socket(SocketType.Dgram, ProtocolType.Udp), Resolve, limit, logger);
    }

    public static DatagramDestination Unixgram(string path, int limit, ILogger logger) =>
        new("unixgram", "unixgram " + path,
            () => new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified),
            () => new UnixDomainSocketEndPoint(path), limit, logger);

    public string Name { get; }

    /// <summary>Current datagram size limit (shrinks after EMSGSIZE).</summary>
    public int Limit => _splitter.Limit;

    public void Send(in OutgoingEnvelope envelope)
    {
        var before = _splitter.Unsendable;
        _splitter.Send(envelope, _sender);
        var unsendable = _splitter.Unsendable - before;
        if (unsendable > 0) _counters.Errors.Inc(unsendable);
    }

    private DatagramResult SendDatagram(ReadOnlySpan<byte> datagram)
    {
        try
        {
            if (_socket == null)
            {
                var socket = _createSocket();
                socket.SendTimeout = 5000;
                try { socket.Connect(_resolve()); }
                catch { socket.Dispose(); throw; }
                _socket = socket;
            }
            _socket.Send(datagram);
            _counters.Sent(datagram.Length);
            _episode.Success();
            return DatagramResult.Sent;
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.MessageSize)
        {
            return DatagramResult.TooBig;
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            _episode.Failure(e, $"datagram of {datagram.Length} bytes not sent: {e.Message}");
            _socket?.Dispose();
            _socket = null;
            return DatagramResult.Failed;
        }
    }

    public bool Flush(TimeSpan timeout) => true;

    public void Dispose() => _socket?.Dispose();
}
