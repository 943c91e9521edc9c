using System.Net.Security;
using System.Net.Sockets;
using Grpc.Core;
using Grpc.Net.Client;
using XtcpEpoll.Host.Config;

namespace XtcpEpoll.Host.Control;

/// <summary>How `ctl` and `watch` reach the daemon: --grpc-listen (TCP, TLS with --grpc-tls-ca) when given, else --control-socket.</summary>
internal static class ControlChannel
{
    public static GrpcChannel Open(ControlSettings settings)
    {
        var handler = new SocketsHttpHandler { EnableMultipleHttp2Connections = false, ConnectTimeout = TimeSpan.FromSeconds(5) };
        if (settings.TcpEndpoint != null)
        {
            bool tls = settings.TlsCaFile != null;
            if (tls) handler.SslOptions = ClientTls(settings);
            return GrpcChannel.ForAddress($"{(tls ? "https" : "http")}://{Host(settings.TcpEndpoint)}", new GrpcChannelOptions { HttpHandler = handler });
        }
        var path = settings.SocketPath ?? throw new ConfigException("nowhere to connect: --control-socket is empty and --grpc-listen is not given");
        handler.ConnectCallback = async (_, cancel) =>
        {
            var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), cancel).ConfigureAwait(false);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        };
        return GrpcChannel.ForAddress("http://localhost", new GrpcChannelOptions { HttpHandler = handler });
    }

    /// <summary>Where the client looked, for its messages.</summary>
    public static string Where(ControlSettings settings)
        => settings.TcpEndpoint != null ? $"--grpc-listen {settings.TcpEndpoint}" : $"--control-socket {settings.SocketPath}";

    /// <summary>The one line for an RPC that failed: "nothing is listening" when the connection itself failed.</summary>
    public static string Explain(RpcException e, ControlSettings settings)
    {
        if (e.StatusCode == StatusCode.Unavailable && e.Status.DebugException is { } cause && IsConnectFailure(cause))
            return $"nothing is listening on {Where(settings)} ({Innermost(cause).Message}): is xtcp-epoll running, with this control socket (XTCP_CONTROL_SOCKET)?";
        return $"{e.StatusCode}: {e.Status.Detail}";
    }

    private static bool IsConnectFailure(Exception e)
    {
        for (var x = e; x != null; x = x.InnerException)
            if (x is SocketException { SocketErrorCode: SocketError.ConnectionRefused or SocketError.AddressNotAvailable or SocketError.TimedOut } || x is SocketException { ErrorCode: 2 }) return true;
        return Innermost(e) is SocketException or FileNotFoundException or DirectoryNotFoundException;
    }

    private static Exception Innermost(Exception e)
    {
        while (e.InnerException != null) e = e.InnerException;
        return e;
    }

    private static string Host(System.Net.IPEndPoint endpoint)
        => endpoint.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{endpoint.Address}]:{endpoint.Port}" : endpoint.ToString();

    /// <summary>The https sink's trust rules: the system store plus --grpc-tls-ca, names checked; --grpc-tls-cert presented.</summary>
    private static SslClientAuthenticationOptions ClientTls(ControlSettings settings)
    {
        var options = new SslClientAuthenticationOptions();
        Sinks.Destinations.HttpsTrust.Load(settings.TlsCaFile, settings.TlsCertFile, settings.TlsKeyFile).Configure(options);
        return options;
    }
}
