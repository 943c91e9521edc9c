using System.Security.Authentication;
using Microsoft.Extensions.Logging.Abstractions;
using XtcpEpoll.Sinks.Batching;
using XtcpEpoll.Sinks.Destinations;
using XtcpEpoll.Sinks.Metrics;
using XtcpEpoll.Sinks.Records;
using XtcpEpoll.Tests.Sinks.Tls;
using Xunit;

namespace XtcpEpoll.Tests.Sinks;

/// <summary>
/// Kafka over TLS and SASL. What librdkafka's mock cluster covers: none of it. Its brokers listen in
/// plaintext only, its request handlers have no SaslHandshake/SaslAuthenticate (librdkafka's own test suite
/// skips every SSL/SASL test when it runs on the mock), and a client configured with test.mock.num.brokers
/// is forced to security.protocol=plaintext. So these tests put a <see cref="SecuredKafkaFront"/> before a
/// mock broker (advertised in its place): a real TLS listener with a certificate from a throwaway CA,
/// optionally demanding a client certificate, which in SASL mode runs the SCRAM-SHA-256/512 or PLAIN exchange
/// itself and then pipes the connection to the mock broker. The producer is the daemon's KafkaDestination
/// built from validated SinkOptions (the same librdkafka build the daemon loads: centos8, with SSL and
/// SASL SCRAM/PLAIN/OAUTHBEARER, no GSSAPI), and what it wrote is consumed back through the same front.
/// </summary>
public sealed class KafkaSecuredTests : IDisposable
{
    private readonly TestPki _pki = new();

    public void Dispose() => _pki.Dispose();

    private static string NewTopic(KafkaMockCluster cluster)
    {
        var topic = "xt-sinks-" + Guid.NewGuid().ToString("N")[..8];
        cluster.CreateTopic(topic, 1, 1);
        return topic;
    }

    /// <summary>Client properties for the front: TLS with the test CA, plus SASL when a mechanism is given.</summary>
    private Dictionary<string, string> Client(string? mechanism = null, string user = "xtcp", string password = "right-password")
    {
        var properties = new Dictionary<string, string>
        {
            ["security.protocol"] = mechanism == null ? "SSL" : "SASL_SSL",
            ["ssl.ca.location"] = _pki.CaFile,
            // Reconnect quickly once the other side is fixed (defaults back off to 10 s).
            ["reconnect.backoff.ms"] = "50",
            ["reconnect.backoff.max.ms"] = "500",
        };
        if (mechanism != null)
        {
            properties["sasl.mechanism"] = mechanism;
            properties["sasl.username"] = user;
            properties["sasl.password"] = password;
        }
        return properties;
    }

    private static EnvelopeBatcher Batcher(string bootstrap, string topic, Dictionary<string, string> properties)
    {
        var options = new SinkOptions { Dest = "kafka:" + bootstrap, Topic = topic, EnvelopeFlushRows = 20 };
        foreach (var (key, value) in properties) options.KafkaProperties[key] = value;
        return SinkTestSupport.CreateBatcher(options);
    }

    private static void RunPolls(EnvelopeBatcher batcher, ref int next, int polls) => SinkTestSupport.RunPolls(batcher, ref next, polls, perPoll: 40);

    private static List<ulong> Consume(SecuredKafkaFront front, string topic, int envelopes, Dictionary<string, string> properties)
        => SinkTestSupport.Counters(KafkaDestinationTests.ConsumeAll(front.BootstrapServers, topic, envelopes, properties));

    /// <summary>
    /// Keeps the claim above honest: a SASL client straight to the mock broker gets no SASL exchange. If a
    /// future librdkafka's mock learns SASL this fails, and the front is no longer needed for it.
    /// </summary>
    [Fact]
    public void The_mock_cluster_itself_has_no_sasl()
    {
        using var cluster = new KafkaMockCluster(1);
        var topic = NewTopic(cluster);
        var errors = new List<string>();
        var config = new Confluent.Kafka.ProducerConfig
        {
            BootstrapServers = cluster.BootstrapServers,
            SecurityProtocol = Confluent.Kafka.SecurityProtocol.SaslPlaintext,
            SaslMechanism = Confluent.Kafka.SaslMechanism.Plain,
            SaslUsername = "xtcp",
            SaslPassword = "any",
            MessageTimeoutMs = 5000,
        };
        using var producer = new Confluent.Kafka.ProducerBuilder<Confluent.Kafka.Null, byte[]>(config)
            .SetErrorHandler((_, e) => { lock (errors) errors.Add(e.Reason); })
            .Build();
        var delivery = producer.ProduceAsync(topic, new Confluent.Kafka.Message<Confluent.Kafka.Null, byte[]> { Value = [1] });

        // librdkafka: "Failed to initialize SASL authentication: SASL Handshake not supported by broker".
        var failure = Assert.ThrowsAny<Confluent.Kafka.ProduceException<Confluent.Kafka.Null, byte[]>>(() => delivery.GetAwaiter().GetResult());
        Assert.Equal(Confluent.Kafka.ErrorCode.Local_MsgTimedOut, failure.Error.Code);
        lock (errors) Assert.Contains(errors, e => e.Contains("SASL Handshake not supported by broker", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Tls_with_the_test_ca_and_a_client_certificate_completes_and_every_envelope_arrives()
    {
        using var cluster = new KafkaMockCluster(1);
        var topic = NewTopic(cluster);
        using var front = new SecuredKafkaFront(cluster, _pki.IssueServer(_pki.Ca, "127.0.0.1")) { ClientCa = _pki.Ca };
        var client = _pki.IssueClient(_pki.Ca, "xtcp-epoll");
        var properties = Client();
        properties["ssl.certificate.location"] = _pki.WriteCertificate(client, "kafka-client.pem");
        properties["ssl.key.location"] = _pki.WriteKey(client, "kafka-client.key", password: "key-pass");
        properties["ssl.key.password"] = "key-pass";

        var batcher = Batcher(front.BootstrapServers, topic, properties);
        var destination = (KafkaDestination)batcher.Destination;
        var next = 0;
        RunPolls(batcher, ref next, polls: 3);
        await batcher.ShutdownAsync(TimeSpan.FromSeconds(30));
        batcher.Dispose();

        Assert.Equal(6, destination.Persisted);
        Assert.True(front.TlsHandshakes >= 1, "no TLS handshake reached the front");
        Assert.Equal(0, front.FailedTlsHandshakes);
        Assert.All(front.Protocols, p => Assert.True(p is SslProtocols.Tls12 or SslProtocols.Tls13, p.ToString()));
        Assert.Equal(SinkTestSupport.Range(120), Consume(front, topic, 6, properties));
    }

    [Theory]
    [InlineData("SCRAM-SHA-512")]
    [InlineData("SCRAM-SHA-256")]
    [InlineData("PLAIN")]
    public async Task Sasl_over_tls_authenticates_and_every_envelope_arrives(string mechanism)
    {
        using var cluster = new KafkaMockCluster(1);
        var topic = NewTopic(cluster);
        using var front = new SecuredKafkaFront(cluster, _pki.IssueServer(_pki.Ca, "127.0.0.1"), mechanism, "xtcp", "right-password");
        var properties = Client(mechanism);

        var batcher = Batcher(front.BootstrapServers, topic, properties);
        var next = 0;
        RunPolls(batcher, ref next, polls: 2);
        await batcher.ShutdownAsync(TimeSpan.FromSeconds(30));
        batcher.Dispose();

        Assert.Contains("xtcp", front.Authenticated);
        Assert.Equal(0, front.FailedAuthentications);
        Assert.Equal(SinkTestSupport.Range(80), Consume(front, topic, 4, properties));
    }

    [Fact]
    public async Task A_broker_certificate_from_an_untrusted_ca_is_a_counted_error_naming_the_broker_and_nothing_is_lost_once_it_is_fixed()
    {
        using var cluster = new KafkaMockCluster(1);
        var topic = NewTopic(cluster);
        using var front = new SecuredKafkaFront(cluster, _pki.IssueServer(_pki.CreateCa("some-other-ca"), "127.0.0.1"));
        var properties = Client();
        var errorsBefore = SinkMetrics.SinkErrors.WithLabels("kafka").Value;

        var batcher = Batcher(front.BootstrapServers, topic, properties);
        var destination = (KafkaDestination)batcher.Destination;
        var next = 0;
        RunPolls(batcher, ref next, polls: 2);
        Assert.True(SpinWait.SpinUntil(() => destination.ClientErrors >= 1 && front.FailedTlsHandshakes >= 1 && destination.Depth == 4, TimeSpan.FromSeconds(30)),
            $"no refused handshake reported, or envelopes not held (depth {destination.Depth})");
        var line = destination.LastClientError!;
        Assert.Contains($"127.0.0.1:{front.Port}", line);           // names the broker
        Assert.Contains("certificate verify failed", line);         // and the reason
        Assert.DoesNotContain('\n', line);
        Assert.True(SinkMetrics.SinkErrors.WithLabels("kafka").Value - errorsBefore >= 1);

        front.Certificate = _pki.IssueServer(_pki.Ca, "127.0.0.1");      // the broker gets a certificate we trust
        RunPolls(batcher, ref next, polls: 1);
        await batcher.ShutdownAsync(TimeSpan.FromSeconds(60));
        batcher.Dispose();
        Assert.Equal(0, destination.Dropped);
        Assert.Equal(SinkTestSupport.Range(120), Consume(front, topic, 6, properties));
    }

    [Fact]
    public async Task A_wrong_password_is_a_counted_authentication_error_and_nothing_is_lost_once_the_credential_is_fixed()
    {
        using var cluster = new KafkaMockCluster(1);
        var topic = NewTopic(cluster);
        using var front = new SecuredKafkaFront(cluster, _pki.IssueServer(_pki.Ca, "127.0.0.1"), "SCRAM-SHA-512", "xtcp", "rotated-password");
        var properties = Client("SCRAM-SHA-512", password: "old-password");

        var batcher = Batcher(front.BootstrapServers, topic, properties);
        var destination = (KafkaDestination)batcher.Destination;
        var next = 0;
        RunPolls(batcher, ref next, polls: 2);
        Assert.True(SpinWait.SpinUntil(() => destination.ClientErrors >= 1 && front.FailedAuthentications >= 1, TimeSpan.FromSeconds(30)), "no failed authentication reported");
        Assert.Contains("Authentication failed", destination.LastClientError);
        Assert.DoesNotContain("old-password", destination.LastClientError);
        Assert.Empty(front.Authenticated);

        front.Password = "old-password";                             // the broker side accepts the credential again
        await batcher.ShutdownAsync(TimeSpan.FromSeconds(60));
        batcher.Dispose();
        Assert.Contains("xtcp", front.Authenticated);
        Assert.Equal(SinkTestSupport.Range(80), Consume(front, topic, 4, Client("SCRAM-SHA-512", password: "old-password")));
    }
}
