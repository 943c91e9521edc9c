using System.Net;
using System.Net.Sockets;
using XtcpEpoll.Tests.Sinks.Tls;
using Xunit;

namespace XtcpEpoll.Tests.Host.Control;

/// <summary>--grpc-listen with TLS and client certificates: `ctl` gets in with a certificate the CA signed, not without.</summary>
public class GrpcTlsTests
{
    [Fact]
    public void Ctl_reaches_a_tls_listener_with_a_client_certificate_and_is_refused_without()
    {
        using var pki = new TestPki();
        var server = pki.IssueServer(pki.Ca, "127.0.0.1");
        var client = pki.IssueClient(pki.Ca, "operator");
        var serverCert = pki.WriteCertificate(server, "server.crt");
        var serverKey = pki.WriteKey(server, "server.key");
        var clientCert = pki.WriteCertificate(client, "client.crt");
        var clientKey = pki.WriteKey(client, "client.key");
        using var daemon = StartOnFreePort(port => ["--dest", "null", "--frequency", "10m", "--timeout", "500ms", "--netns-dirs", "",
            "--grpc-listen", port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--grpc-tls-cert", serverCert, "--grpc-tls-key", serverKey, "--grpc-tls-ca", pki.CaFile], out var port);
        var target = $"127.0.0.1:{port}";
        // Kestrel binds the unix socket (what ControlDaemon waits for) before the TCP endpoint: wait for that one too.
        daemon.Process.WaitUntil(() => Accepts(port), ControlDaemon.Patience, $"the --grpc-listen port {port}");

        var allowed = CliRunner.Run("ctl", "get", "--grpc-listen", target, "--grpc-tls-ca", pki.CaFile, "--grpc-tls-cert", clientCert, "--grpc-tls-key", clientKey);
        Assert.True(allowed.ExitCode == 0, allowed.Stderr);
        Assert.Contains($"\"grpcPort\": {port}", allowed.Stdout);

        var refused = CliRunner.Run("ctl", "get", "--grpc-listen", target, "--grpc-tls-ca", pki.CaFile);
        Assert.NotEqual(0, refused.ExitCode);
        var plain = CliRunner.Run("ctl", "get", "--grpc-listen", target);
        Assert.NotEqual(0, plain.ExitCode);
    }

    /// <summary>A port free when probed may be taken by a parallel test before the daemon binds it: a few tries.</summary>
    private static ControlDaemon StartOnFreePort(Func<int, string[]> args, out int port)
    {
        for (int attempt = 1; ; attempt++)
        {
            port = FreePort();
            try { return new ControlDaemon(args(port)); }
            catch (InvalidOperationException e) when (attempt < 3 && e.Message.Contains("cannot serve gRPC", StringComparison.Ordinal)) { }
        }
    }

    private static bool Accepts(int port)
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            probe.Connect(new IPEndPoint(IPAddress.Loopback, port));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static int FreePort()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }
}
