using XtcpEpoll.Tests.Sinks;
using Xunit;

namespace XtcpEpoll.Tests.Host;

/// <summary>
/// Confluent.Kafka in the shipped (Native AOT) executable. Its trim warnings are silenced for the AOT
/// compiler (src/Host/XtcpEpoll.Host.csproj) on the strength of these tests: the producer binds librdkafka
/// through the reflection the descriptor keeps, delivery reports come back through its native callbacks,
/// librdkafka's own mock cluster runs inside the daemon, and <see cref="SecuredDaemonTests"/> adds TLS and
/// SASL (SCRAM over SASL_SSL) to the same executable.
/// </summary>
public sealed class AotKafkaTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);
    private const string Persisted = "xtcp_kafka_deliveries_total{outcome=\"persisted\"}";

    [Fact]
    public void Producer_ships_envelopes_and_counts_their_delivery_reports()
    {
        using var cluster = new KafkaMockCluster(1);
        var topic = "xt-aot-" + Guid.NewGuid().ToString("N")[..8];
        cluster.CreateTopic(topic, 1, 1);

        using (var daemon = Start("--dest", "kafka:" + cluster.BootstrapServers, "--topic", topic))
        {
            var port = WaitForDeliveries(daemon, 2);
            var metrics = HttpGet.Get(port, "/metrics").Body;
            Assert.Equal(0, HttpGet.Metric(metrics, "xtcp_kafka_deliveries_total{outcome=\"failed\"}"));
            daemon.Signal(NativeTest.SIGTERM);
            Assert.Equal(0, daemon.WaitForExit(Patience));
        }

        var envelopes = KafkaDestinationTests.ConsumeAll(cluster.BootstrapServers, topic, 2);
        Assert.True(envelopes.Count >= 2, $"{envelopes.Count} envelopes");
        Assert.All(envelopes.SelectMany(e => e.Row), row => Assert.Equal(Environment.MachineName, row.Hostname));
    }

    [Fact]
    public void Librdkafka_mock_cluster_runs_inside_the_daemon()
    {
        // test.mock.num.brokers: librdkafka starts its mock cluster in the daemon's own process and the producer
        // talks to it (the brokers in --dest are then ignored): the mock cluster's code paths under AOT.
        var properties = Path.Combine(Directory.CreateTempSubdirectory("xt-aot-kafka-").FullName, "kafka.properties");
        try
        {
            File.WriteAllText(properties, "test.mock.num.brokers=1\n");
            using var daemon = Start("--dest", "kafka:127.0.0.1:9", "--topic", "xt-aot-mock", "--kafka-config-file", properties);
            WaitForDeliveries(daemon, 2);
            daemon.Signal(NativeTest.SIGTERM);
            Assert.Equal(0, daemon.WaitForExit(Patience));
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(properties)!, recursive: true);
        }
    }

    /// <summary>The daemon polling the host namespace every second, metrics on an ephemeral port.</summary>
    private static DaemonProcess Start(params string[] args) => DaemonProcess.Start(["collect", .. args, "--frequency", "1s",
        "--timeout", "500ms", "--netns-dirs", "", "--metrics-listen", "127.0.0.1:0", "--shutdown-timeout", "30s"]);

    /// <summary>Waits until the daemon counted <paramref name="deliveries"/> persisted delivery reports; returns its metrics port.</summary>
    private static int WaitForDeliveries(DaemonProcess daemon, int deliveries)
    {
        var port = daemon.WaitForMetricsPort(Patience);
        daemon.WaitUntil(() => HttpGet.Metric(HttpGet.Get(port, "/metrics").Body, Persisted) >= deliveries, Patience,
            $"{deliveries} persisted delivery reports");
        return port;
    }
}
