using System.Globalization;
using System.Net;
using XtcpEpoll.Host.Metrics;
using O = XtcpEpoll.Host.Cli.OptionCatalog;

namespace XtcpEpoll.Host.Config;

/// <summary>--control-socket, --grpc-listen and the --grpc-tls-* files (the daemon's and the clients' reading of them).</summary>
public static class ControlBinder
{
    /// <param name="daemon">Also reads the daemon-only --stream-queue.</param>
    public static ControlSettings Bind(SettingReader r, bool daemon = false)
    {
        var socket = r.Parsed<string?>(O.ControlSocket, TryParseSocketPath, static p => p ?? "");
        var tcp = r.Parsed<IPEndPoint?>(O.GrpcListen, TryParseListen, static e => e?.ToString() ?? "");
        var cert = ReadableFile(r, O.GrpcTlsCert);
        var key = ReadableFile(r, O.GrpcTlsKey);
        var ca = ReadableFile(r, O.GrpcTlsCa);
        if ((cert == null) != (key == null))
            throw r.Reject(cert == null ? O.GrpcTlsKey : O.GrpcTlsCert, "--grpc-tls-cert and --grpc-tls-key go together");
        if (key != null && SecretValue.PermissionWarning(key) is { } warning) r.Warnings.Add(warning);
        int queue = daemon ? (int)r.Integer(O.StreamQueue, O.StreamQueueRange) : 0;
        return new ControlSettings { SocketPath = socket, TcpEndpoint = tcp, TlsCertFile = cert, TlsKeyFile = key, TlsCaFile = ca, StreamQueueRecords = queue };
    }

    /// <summary>Empty = none; else an absolute path (a relative one would depend on the daemon's working directory).</summary>
    private static bool TryParseSocketPath(string text, out string? value, out string error)
    {
        var path = text.Trim();
        value = path.Length == 0 ? null : path;
        error = value == null || Path.IsPathRooted(value) ? "" : "must be an absolute path (or empty to disable the control socket)";
        if (value != null && System.Text.Encoding.UTF8.GetByteCount(value) > 107) error = "is longer than a unix socket path may be (107 bytes)";
        return error.Length == 0;
    }

    /// <summary>"PORT" listens on 127.0.0.1 (gRPC has no authentication of its own: loopback unless asked); else as --metrics-listen.</summary>
    private static bool TryParseListen(string text, out IPEndPoint? value, out string error)
    {
        var trimmed = text.Trim();
        if (trimmed.Length > 0 && trimmed.All(char.IsAsciiDigit))
        {
            value = null;
            error = "";
            if (int.TryParse(trimmed, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is > 0 and <= 65535)
            {
                value = new IPEndPoint(IPAddress.Loopback, port);
                return true;
            }
            error = "port must be from 1 to 65535";
            return false;
        }
        return ListenAddress.TryParse(trimmed, out value, out error);
    }

    private static string? ReadableFile(SettingReader r, Cli.OptionSpec spec)
    {
        var path = r.Text(spec).Trim();
        if (path.Length == 0) return null;
        if (!File.Exists(path)) throw r.Reject(spec, "no such file");
        return path;
    }
}
