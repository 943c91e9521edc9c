using System.Net;
using System.Net.Sockets;
using System.Text;

namespace XtcpEpoll.Tests.Host;

/// <summary>
/// Clients that stall an HTTP server each in its own way: connect and send nothing; send half a request line
/// ("GET /metr", the measurement of issue 12); send a whole request and never read the response (with a small
/// receive window set before the handshake, so a response larger than the socket buffers cannot be written).
/// Dispose closes them all.
/// </summary>
public sealed class StalledClients : IDisposable
{
    private StalledClients() { }

    public List<Socket> Silent { get; } = [];
    public List<Socket> Partial { get; } = [];
    public List<Socket> Unread { get; } = [];

    public int Count => Silent.Count + Partial.Count + Unread.Count;

    public static StalledClients Open(int port, int silent, int partial, int unread)
    {
        var clients = new StalledClients();
        try
        {
            for (int i = 0; i < silent; i++) clients.Silent.Add(Connect(port));
            for (int i = 0; i < partial; i++)
            {
                clients.Partial.Add(Connect(port));
                clients.Partial[^1].Send("GET /metr"u8);
            }
            for (int i = 0; i < unread; i++)
            {
                clients.Unread.Add(Connect(port, receiveBuffer: 4096));
                clients.Unread[^1].Send("GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n"u8);
            }
            return clients;
        }
        catch
        {
            clients.Dispose();
            throw;
        }
    }

    /// <summary>What a silent or partial client receives until the server closes it (its request deadline ends the wait).</summary>
    public static string ReadUntilClosed(Socket socket) => Encoding.ASCII.GetString(HttpGet.ReadToEnd(socket));

    private static Socket Connect(int port, int receiveBuffer = 0)
    {
        // The receive timeout only bounds a failure: the server's deadlines end every read well before it.
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveTimeout = 60_000 };
        if (receiveBuffer > 0) socket.ReceiveBufferSize = receiveBuffer;
        socket.Connect(IPAddress.Loopback, port);
        return socket;
    }

    public void Dispose()
    {
        foreach (var socket in Silent.Concat(Partial).Concat(Unread)) socket.Dispose();
    }
}
