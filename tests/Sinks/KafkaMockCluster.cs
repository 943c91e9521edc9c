using System.Runtime.InteropServices;
using System.Text;

namespace XtcpEpoll.Tests.Sinks;

/// <summary>
/// librdkafka's built-in mock Kafka cluster, driven through function pointers so tests can take brokers down and up.
/// The functions are resolved in the very librdkafka file Confluent.Kafka loaded (<see cref="XtcpEpoll.Sinks.Destinations.Librdkafka"/>),
/// so our handle and Confluent's clients share one library instance.
/// </summary>
public sealed unsafe class KafkaMockCluster : IDisposable
{
    private static readonly delegate* unmanaged<nint> ConfNew = (delegate* unmanaged<nint>)Export("rd_kafka_conf_new");
    private static readonly delegate* unmanaged<int, nint, byte*, nuint, nint> KafkaNew = (delegate* unmanaged<int, nint, byte*, nuint, nint>)Export("rd_kafka_new");
    private static readonly delegate* unmanaged<nint, void> KafkaDestroy = (delegate* unmanaged<nint, void>)Export("rd_kafka_destroy");
    private static readonly delegate* unmanaged<nint, int, nint> ClusterNew = (delegate* unmanaged<nint, int, nint>)Export("rd_kafka_mock_cluster_new");
    private static readonly delegate* unmanaged<nint, void> ClusterDestroy = (delegate* unmanaged<nint, void>)Export("rd_kafka_mock_cluster_destroy");
    private static readonly delegate* unmanaged<nint, byte*> ClusterBootstraps = (delegate* unmanaged<nint, byte*>)Export("rd_kafka_mock_cluster_bootstraps");
    private static readonly delegate* unmanaged<nint, byte*, int, int, int> TopicCreate = (delegate* unmanaged<nint, byte*, int, int, int>)Export("rd_kafka_mock_topic_create");
    private static readonly delegate* unmanaged<nint, int, int> BrokerSetDown = (delegate* unmanaged<nint, int, int>)Export("rd_kafka_mock_broker_set_down");
    private static readonly delegate* unmanaged<nint, int, int> BrokerSetUp = (delegate* unmanaged<nint, int, int>)Export("rd_kafka_mock_broker_set_up");
    private static readonly delegate* unmanaged<nint, int, byte*, int, void> BrokerSetHostPort = (delegate* unmanaged<nint, int, byte*, int, void>)Export("rd_kafka_mock_broker_set_host_port");

    private nint _rk;
    private nint _cluster;

    public KafkaMockCluster(int brokers)
    {
        BrokerCount = brokers;
        var errstr = stackalloc byte[512];
        _rk = KafkaNew(0 /* RD_KAFKA_PRODUCER */, ConfNew(), errstr, 512);
        if (_rk == 0) throw new InvalidOperationException("rd_kafka_new: " + Marshal.PtrToStringUTF8((nint)errstr));
        _cluster = ClusterNew(_rk, brokers);
        if (_cluster == 0) throw new InvalidOperationException("rd_kafka_mock_cluster_new failed");
        BootstrapServers = Marshal.PtrToStringUTF8((nint)ClusterBootstraps(_cluster))!;
    }

    public int BrokerCount { get; }
    public string BootstrapServers { get; }

    public void CreateTopic(string topic, int partitions, int replicationFactor)
    {
        var name = Encoding.UTF8.GetBytes(topic + "\0");
        fixed (byte* p = name)
        {
            var err = TopicCreate(_cluster, p, partitions, replicationFactor);
            if (err != 0) throw new InvalidOperationException($"rd_kafka_mock_topic_create: error {err}");
        }
    }

    /// <summary>
    /// The address clients are told to use for broker <paramref name="id"/> (in Metadata responses); the
    /// broker itself keeps listening where <see cref="BootstrapServers"/> says. Lets a TLS/SASL front
    /// stand before a plaintext mock broker.
    /// </summary>
    public void AdvertiseBroker(int id, string host, int port)
    {
        var name = Encoding.UTF8.GetBytes(host + "\0");
        fixed (byte* p = name) BrokerSetHostPort(_cluster, id, p, port);
    }

    /// <summary>
    /// Every broker closes its listener and connections (clients get "connection refused") until
    /// <see cref="AllBrokersUp"/>. Only from a test class in <see cref="KafkaOutageCollection"/>: librdkafka
    /// closes each listener and binds its port again at once, and ABORTS the process when that bind fails.
    /// It fails when the listener outlived its close because a process being started by another test of this
    /// process (fork/vfork copies every fd until exec) still held it: that crashed the test host under load.
    /// </summary>
    public void AllBrokersDown()
    {
        for (var id = 1; id <= BrokerCount; id++) Check(BrokerSetDown(_cluster, id), "set_down");
    }

    public void AllBrokersUp()
    {
        for (var id = 1; id <= BrokerCount; id++) Check(BrokerSetUp(_cluster, id), "set_up");
    }

    private static void Check(int err, string what)
    {
        if (err != 0) throw new InvalidOperationException($"rd_kafka_mock_broker_{what}: error {err}");
    }

    public void Dispose()
    {
        if (_cluster != 0) ClusterDestroy(_cluster);
        if (_rk != 0) KafkaDestroy(_rk);
        _cluster = 0;
        _rk = 0;
    }

    private static nint Export(string name) => XtcpEpoll.Sinks.Destinations.Librdkafka.Export(name);
}

/// <summary>
/// Tests that take mock brokers down run alone, after the parallel ones: no other test of this process starts a
/// child process (whose fork would hold a copy of the broker's listener fd) while librdkafka re-binds the port.
/// </summary>
[Xunit.CollectionDefinition(Name, DisableParallelization = true)]
public sealed class KafkaOutageCollection
{
    public const string Name = "sinks-kafka-outage";
}
