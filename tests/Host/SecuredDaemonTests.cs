using System.Net;
using System.Net.Sockets;
using XtcpEpoll.Tests.Sinks;
using XtcpEpoll.Tests.Sinks.Tls;
using Xunit;

namespace XtcpEpoll.Tests.Host;

/// <summary>
/// The real daemon process configured the way an operator would (properties file, secrets in 0600 files,
/// @/path references) shipping what it collects to a SASL_SSL + SCRAM Kafka and to an HTTPS endpoint that
/// demands a client certificate and a header.
/// </summary>
public sealed class SecuredDaemonTests : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);
    private readonly TestPki _pki = new();
    private readonly TcpListener _socket = new(IPAddress.Loopback, 0); // at least one TCP socket in the host namespace

    public SecuredDaemonTests() => _socket.Start();

    public void Dispose()
    {
        _socket.Stop();
        _pki.Dispose();
    }

    private string Secret(string name, string value)
    {
        var path = Path.Combine(_pki.Directory, name);
        File.WriteAllText(path, value + "\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return path;
    }

    private static void RunTwoPolls(params string[] args)
    {
        using var daemon = DaemonProcess.Start(["collect", .. args, "--max-loops", "2", "--frequency", "1s", "--timeout", "500ms",
            "--netns-dirs", "", "--metrics-listen", "", "--shutdown-timeout", "30s"]);
        Assert.True(daemon.WaitForExit(Patience) == 0, "daemon failed; stderr:\n" + daemon.Stderr);
        Assert.DoesNotContain("warning", daemon.Stderr, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Ships_to_a_sasl_ssl_scram_kafka_with_its_password_read_from_a_file()
    {
        using var cluster = new KafkaMockCluster(1);
        var topic = "xt-host-" + Guid.NewGuid().ToString("N")[..8];
        cluster.CreateTopic(topic, 1, 1);
        using var front = new SecuredKafkaFront(cluster, _pki.IssueServer(_pki.Ca, "127.0.0.1"), "SCRAM-SHA-512", "xtcp", "s3cret-scram");
        var properties = Path.Combine(_pki.Directory, "kafka.properties");
        File.WriteAllText(properties, $"""
            # the README's "Shipping to a secured Kafka" example, pointed at the test broker
            security.protocol=SASL_SSL
            sasl.mechanism=SCRAM-SHA-512
            sasl.username=xtcp
            sasl.password=@{Secret("kafka-password", "s3cret-scram")}
            ssl.ca.location={_pki.CaFile}
            """);

        RunTwoPolls("--dest", "kafka:" + front.BootstrapServers, "--topic", topic, "--kafka-config-file", properties);

        Assert.Contains("xtcp", front.Authenticated);
        var consumer = new Dictionary<string, string>
        {
            ["security.protocol"] = "SASL_SSL", ["sasl.mechanism"] = "SCRAM-SHA-512", ["sasl.username"] = "xtcp",
            ["sasl.password"] = "s3cret-scram", ["ssl.ca.location"] = _pki.CaFile,
        };
        var envelopes = KafkaDestinationTests.ConsumeAll(front.BootstrapServers, topic, 2, consumer);
        Assert.True(envelopes.Count >= 2, $"{envelopes.Count} envelopes");
        Assert.All(envelopes.SelectMany(e => e.Row), row => Assert.Equal(Environment.MachineName, row.Hostname));
    }

    [Fact]
    public void Posts_to_https_with_a_client_certificate_and_an_authorization_header_read_from_a_file()
    {
        using var server = new TlsHttpServer(_pki.IssueServer(_pki.Ca, "127.0.0.1")) { ClientCa = _pki.Ca, RequiredHeader = ("Authorization", "Bearer s3cret-http") };
        var client = _pki.IssueClient(_pki.Ca, "xtcp-epoll-daemon");

        RunTwoPolls("--dest", $"https://127.0.0.1:{server.Port}/ingest", "--http-ca-file", _pki.CaFile,
            "--http-client-cert", _pki.WriteCertificate(client, "client.pem"), "--http-client-key", _pki.WriteKey(client, "client.key"),
            "--http-header", "Authorization=@" + Secret("http-auth", "Bearer s3cret-http"));

        Assert.Contains("CN=xtcp-epoll-daemon", server.ClientSubjects);
        var rows = server.Bodies.SelectMany(b => SinkTestSupport.DecodeProtobufList(b)).SelectMany(e => e.Row).ToList();
        Assert.True(server.Bodies.Count >= 2, $"{server.Bodies.Count} POSTs");
        Assert.All(rows, row => Assert.Equal(Environment.MachineName, row.Hostname));
    }
}
