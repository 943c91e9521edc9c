using System.Net.Sockets;
using Grpc.Net.Client;

namespace XtcpEpoll.Tests.Host.Control;

/// <summary>
/// A real daemon serving its control plane on a private unix socket (a temporary directory, removed on
/// Dispose), with the metrics port learned from its log; <see cref="Channel"/> speaks gRPC to it as any client would.
/// </summary>
public sealed class ControlDaemon : IDisposable
{
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    /// <summary>ControlServer.Start's last log line, after the socket's mode is set.</summary>
    private const string ServingLine = "gRPC control plane on ";
    private readonly DirectoryInfo _directory;

    public ControlDaemon(params string[] args)
    {
        _directory = Directory.CreateTempSubdirectory("xt-control-");
        SocketPath = Path.Combine(_directory.FullName, "control.sock");
        Process = DaemonProcess.Start(["collect", "--control-socket", SocketPath, "--metrics-listen", "127.0.0.1:0", .. args]);
        try
        {
            MetricsPort = Process.WaitForMetricsPort(Patience);
            // Serving, not merely bound: the socket file appears when Kestrel binds it (mode from the umask) and
            // gets its 0660 just before this line is logged; waiting for the file alone let a loaded machine see
            // 0755 (issue 21, design/FLAKY.md).
            Process.WaitUntil(() => Process.Stderr.Contains(ServingLine, StringComparison.Ordinal), Patience, "the control plane to serve");
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public DaemonProcess Process { get; }
    public string SocketPath { get; }
    public int MetricsPort { get; }

    public string Metrics() => HttpGet.Get(MetricsPort, "/metrics").Body;

    /// <summary>Sum of a metric's series that carry <paramref name="label"/> (e.g. trigger="ctl").</summary>
    public double Metric(string name, string label)
    {
        double sum = 0;
        foreach (var line in Metrics().Split('\n'))
            if (line.StartsWith(name + "{", StringComparison.Ordinal) && line.Contains(label, StringComparison.Ordinal))
                sum += double.Parse(line[(line.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
        return sum;
    }

    public double MetricSum(string name) => HttpGet.MetricSum(Metrics(), name);

    /// <summary>A gRPC channel over the unix socket (<paramref name="streamWindow"/>: HTTP/2 receive window per stream).</summary>
    public GrpcChannel Channel(int? streamWindow = null)
    {
        var path = SocketPath;
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, cancel) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), cancel);
                return new NetworkStream(socket, ownsSocket: true);
            },
        };
        if (streamWindow is { } window) handler.InitialHttp2StreamWindowSize = window;
        return GrpcChannel.ForAddress("http://localhost", new GrpcChannelOptions { HttpHandler = handler });
    }

    public void Dispose()
    {
        Process.Dispose();
        try { _directory.Delete(recursive: true); } catch (IOException) { }
    }
}
