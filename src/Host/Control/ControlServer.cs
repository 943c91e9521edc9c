using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using XtcpEpoll.Host.Config;
using XtcpEpoll.Host.Control.Transport;

namespace XtcpEpoll.Host.Control;

/// <summary>
/// The gRPC control plane: Kestrel (HTTP/2 only) on the unix socket and, when asked, on TCP (optionally TLS,
/// mutual when --grpc-tls-ca is given), serving ConfigService, XTCPFlatRecordService and server reflection.
/// Its thread budget is fixed from start-up (design/PERFORMANCE.md, "Control plane threads"): the unix socket's
/// I/O runs on the thread that calls <see cref="ServeUntil"/> (the daemon's main thread, which would only wait),
/// Kestrel and gRPC run on the thread pool's one worker, plus Kestrel's heartbeat and .NET's timer and gate threads.
/// Only --grpc-listen adds one: .NET's socket engine, for TCP.
/// </summary>
public sealed class ControlServer : IDisposable
{
    /// <summary>The socket's mode: root and the socket's group may connect, nobody else (gRPC carries no authentication).</summary>
    public const UnixFileMode SocketMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite;

    private readonly WebApplication _app;
    private readonly ControlPlane _plane;
    private readonly ControlSocketLoop _loop;
    private readonly string? _socketPath;

    private ControlServer(WebApplication app, ControlPlane plane, ControlSocketLoop loop, string? socketPath)
    {
        _app = app;
        _plane = plane;
        _loop = loop;
        _socketPath = socketPath;
    }

    /// <summary>Serves the control socket on the calling thread until <paramref name="done"/> completes.</summary>
    public void ServeUntil(Task done) => _loop.RunUntil(done);

    /// <summary>Waits for <paramref name="task"/> at most <paramref name="timeout"/>, serving meanwhile (or only waiting, with no server).</summary>
    public static bool WaitServing(ControlServer? server, Task task, TimeSpan timeout)
    {
        if (server == null) return task.Wait(timeout);
        server.ServeUntil(Task.WhenAny(task, Task.Delay(timeout)));
        return task.IsCompleted;
    }

    /// <summary>Listens; a socket path another daemon serves, or a port in use, is a <see cref="ConfigException"/> (exit 2).</summary>
    public static ControlServer Start(ControlSettings settings, ControlPlane plane, ILogger log)
    {
        if (settings.SocketPath != null)
        {
            try { PrepareSocketPath(settings.SocketPath); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new ConfigException($"invalid --control-socket value \"{settings.SocketPath}\": {e.Message} (give a path this user may create, or empty to disable the control socket)");
            }
        }
        // The empty builder: no configuration files (no file watcher thread), no logging providers (the daemon
        // logs what matters itself), only Kestrel's core, routing and gRPC.
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { Args = [], ApplicationName = "xtcp-epoll" });
        builder.WebHost.UseKestrelCore();
        // Registered after Kestrel's socket transport, so asked first: it takes the unix socket, TCP stays with Kestrel's.
        var loop = new ControlSocketLoop(e => log.LogWarning("control socket: {Error}", e.Message));
        builder.Services.AddSingleton<IConnectionListenerFactory>(new UnixSocketTransport(loop));
        builder.Services.AddRoutingCore();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.Http2.MaxStreamsPerConnection = 20; // xtcp2's MaxConcurrentStreams
            kestrel.Limits.MaxRequestBodySize = 4_000_000;     // xtcp2's MaxRecvMsgSize
            if (settings.SocketPath != null) kestrel.ListenUnixSocket(settings.SocketPath, o => o.Protocols = HttpProtocols.Http2);
            if (settings.TcpEndpoint != null)
            {
                kestrel.Listen(settings.TcpEndpoint, o =>
                {
                    o.Protocols = HttpProtocols.Http2;
                    if (settings.TlsCertFile != null) o.UseHttps(Tls(settings));
                });
            }
        });
        builder.Services.AddGrpc(o => o.MaxReceiveMessageSize = 4_000_000);
        builder.Services.AddSingleton(plane);
        // Server reflection (grpcurl) from our descriptors: trimming-safe, unlike discovering services by reflection.
        builder.Services.AddSingleton(new Grpc.Reflection.ReflectionServiceImpl(
            XtcpConfig.V1.ConfigService.Descriptor, Proto.XTCPFlatRecordService.Descriptor, Grpc.Reflection.V1Alpha.ServerReflection.Descriptor));
        WebApplication? app = null;
        try
        {
            app = builder.Build();
            app.MapGrpcService<ConfigServiceImpl>();
            app.MapGrpcService<FlatRecordServiceImpl>();
            app.MapGrpcService<Grpc.Reflection.ReflectionServiceImpl>();
            app.StartAsync().GetAwaiter().GetResult(); // binds, and reads the --grpc-tls-* files
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Net.Sockets.SocketException or System.Security.Cryptography.CryptographicException)
        {
            ((IDisposable?)app)?.Dispose();
            loop.Dispose();
            throw new ConfigException($"cannot serve gRPC on {Where(settings)}: {e.Message}");
        }
        if (!RuntimeThreads.Start()) log.LogWarning("the thread pool's worker did not start within 10 s: the control plane may answer late");
        log.LogInformation("gRPC control plane on {Where} (ConfigService, XTCPFlatRecordService, reflection)", Where(settings));
        return new ControlServer(app, plane, loop, settings.SocketPath);
    }

    /// <summary>
    /// The socket's directory is made (0755, as /run's); a socket file left by a daemon that died is removed, but
    /// one that answers belongs to a running daemon: refused, since two daemons would fight over one path.
    /// </summary>
    private static void PrepareSocketPath(string path)
    {
        var directory = Path.GetDirectoryName(path);
        if (!string.IsNullOrEmpty(directory)) Directory.CreateDirectory(directory);
        if (!File.Exists(path)) return;
        if (!IsSocket(path))
            throw new ConfigException($"invalid --control-socket value \"{path}\": the path exists and is not a socket; remove it or choose another path");
        using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            probe.Connect(new UnixDomainSocketEndPoint(path));
        }
        catch (SocketException)
        {
            File.Delete(path); // nobody listens: a leftover of a daemon that did not stop cleanly
            return;
        }
        throw new ConfigException($"invalid --control-socket value \"{path}\": another xtcp-epoll is serving it; stop that one, or give this one another --control-socket (empty disables it)");
    }

    /// <summary>lstat(2) says S_IFSOCK (.NET's file APIs do not tell a socket from a regular file).</summary>
    private static unsafe bool IsSocket(string path)
    {
        Tmds.Linux.stat st;
        var bytes = System.Text.Encoding.UTF8.GetBytes(path + "\0");
        fixed (byte* p = bytes)
            return Tmds.Linux.LibC.lstat(p, &st) == 0 && (st.st_mode & Tmds.Linux.LibC.S_IFMT) == Tmds.Linux.LibC.S_IFSOCK;
    }

    /// <summary>The certificate files read as the https sink reads them; a client certificate must chain to --grpc-tls-ca.</summary>
    private static HttpsConnectionAdapterOptions Tls(ControlSettings settings)
    {
        var (certificate, intermediates) = Sinks.Destinations.HttpsTrust.LoadClientCertificate(settings.TlsCertFile!, settings.TlsKeyFile!);
        var options = new HttpsConnectionAdapterOptions
        {
            ServerCertificateChain = intermediates,
            ServerCertificate = certificate,
        };
        if (settings.TlsCaFile != null)
        {
            var trusted = Sinks.Destinations.HttpsTrust.LoadCaBundle(settings.TlsCaFile);
            options.ClientCertificateMode = ClientCertificateMode.RequireCertificate;
            options.ClientCertificateValidation = (client, _, _) =>
            {
                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.AddRange(trusted);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                return chain.Build(client);
            };
        }
        return options;
    }

    private static string Where(ControlSettings settings)
        => string.Join(" and ", new[] { settings.SocketPath != null ? "unix:" + settings.SocketPath : null, settings.TcpEndpoint != null ? (settings.TlsCertFile != null ? "https://" : "http://") + settings.TcpEndpoint : null }.Where(s => s != null));

    /// <summary>Streams end (UNAVAILABLE), then Kestrel stops (bounded) and removes the socket file.</summary>
    public void Dispose()
    {
        _plane.Stop();
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        var stopped = _app.StopAsync(bound.Token);
        ServeUntil(stopped); // the connections' goodbyes go through the loop
        try { stopped.GetAwaiter().GetResult(); }
        catch (OperationCanceledException) { }
        var disposed = _app.DisposeAsync().AsTask();
        ServeUntil(disposed);
        disposed.GetAwaiter().GetResult();
        _loop.Dispose();
        if (_socketPath != null) File.Delete(_socketPath);
    }
}
