using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Confluent.Kafka;
using Google.Protobuf;
using Microsoft.Extensions.Logging.Abstractions;
using XtcpEpoll.Sinks.Batching;
using XtcpEpoll.Sinks.Destinations;
using XtcpEpoll.Sinks.Marshal;
using XtcpEpoll.Sinks.Proto;
using XtcpEpoll.Sinks.Records;
using XtcpEpoll.Tests.Host;
using XtcpEpoll.Tests.Sinks;
using Xunit;
using Xunit.Abstractions;

namespace XtcpEpoll.Tests.Consumers;

/// <summary>
/// ClickHouse (26.7, embedded through chdb) reads what we ship: envelopes produced by the Kafka destination
/// (librdkafka's mock cluster, consumed back, one envelope per message) and by replay are read through
/// ProtobufList with proto/xtcp_flat_record.proto, loaded through the shipped DDL (deploy/clickhouse/ddl,
/// the materialized view's SELECT unchanged), and every shipped query (deploy/clickhouse/queries) runs and
/// returns the expected answer: exact for hand-made records (pods, containers, destroy events), counts and
/// per-field checks for the daemon's own envelopes. No mock of ClickHouse.
/// </summary>
public class ClickHouseTests(ITestOutputHelper output)
{
    internal static string Deploy => Path.Combine(TestPaths.RepoRoot, "deploy", "clickhouse");
    private static string Proto => Path.Combine(TestPaths.RepoRoot, "proto", "xtcp_flat_record.proto");

    private const string KafkaHost = "kafka-node";
    private const string ReplayHost = "replay-node";
    private const int KafkaPolls = 2, KafkaPerPoll = 300, KafkaFlushRows = 100;

    [Fact]
    public async Task Kafka_and_replay_envelopes_load_through_the_shipped_ddl_and_every_shipped_query_answers()
    {
        var engine = ChdbEngine.Ensure();
        output.WriteLine(engine.InstallTime is { } t ? $"chdb {ChdbEngine.PackageVersion} installed in {t.TotalSeconds:0.0} s into {engine.ModuleDirectory}" : $"chdb from the cache: {engine.ModuleDirectory}");
        var work = Directory.CreateTempSubdirectory("xt-clickhouse-");
        try
        {
            var now = DateTimeOffset.UtcNow;
            var hand = new HandMadeRecords(now);
            WriteEach(Path.Combine(work.FullName, "hand"), hand.Envelopes.Select(e => { var m = new MemoryStream(); e.WriteDelimitedTo(m); return m.ToArray(); }));

            var kafkaRecords = KafkaRecords(now);
            var messages = await ProduceAndConsumeBack(kafkaRecords);
            WriteEach(Path.Combine(work.FullName, "kafka"), messages);

            var replayEnvelopes = Replay(Path.Combine(work.FullName, "replay.pb"));
            WriteEach(Path.Combine(work.FullName, "replay"), replayEnvelopes);

            var queries = Directory.GetFiles(Path.Combine(Deploy, "queries"), "*.sql").OrderBy(f => f, StringComparer.Ordinal).ToArray();
            var steps = new List<ChdbEngine.Step>();
            foreach (var ddl in new[] { "01_database.sql", "02_kafka.sql", "03_flat_records.sql" })
                steps.Add(new(ddl, File.ReadAllText(Path.Combine(Deploy, "ddl", ddl))));
            steps.Add(new("kafka stand-in", KafkaStandIn));
            steps.Add(new("04_materialized_views.sql", File.ReadAllText(Path.Combine(Deploy, "ddl", "04_materialized_views.sql"))));
            steps.Add(new("columns", "SELECT table, name, type, default_kind FROM system.columns WHERE database = 'xtcp' AND table IN ('xtcp_flat_records_kafka_shipped', 'xtcp_flat_records_v1') ORDER BY table, position"));
            steps.Add(new("load hand", Load(Path.Combine(work.FullName, "hand"))));
            foreach (var q in queries) steps.Add(new("hand:" + Path.GetFileName(q), File.ReadAllText(q)));
            steps.Add(new("load kafka", Load(Path.Combine(work.FullName, "kafka"))));
            steps.Add(new("load replay", Load(Path.Combine(work.FullName, "replay"))));
            steps.Add(new("per host", PerHost));
            steps.Add(new("xtcp2 self-test", "SELECT count() AS c FROM xtcp.xtcp_flat_records WHERE netns != 'default' AND length(netns) > 0"));
            steps.Add(new("errors", "SELECT count() AS c FROM xtcp.xtcp_flat_records_errors"));
            foreach (var q in queries) steps.Add(new("all:" + Path.GetFileName(q), File.ReadAllText(q)));

            var results = engine.Run(steps, out var elapsed);
            output.WriteLine($"chdb plan of {steps.Count} steps ran in {elapsed.TotalSeconds:0.0} s");
            foreach (var r in results)
                Assert.True(r.Error == null, $"step '{r.Name}' failed: {r.Error}");
            Assert.Equal(steps.Count, results.Count);
            var byName = results.ToDictionary(r => r.Name, r => r.Rows);

            AssertColumnsMatchTheProto(byName["columns"]);
            AssertHandMadeAnswers(hand, byName);
            Assert.Equal(KafkaPolls * KafkaPerPoll / KafkaFlushRows, messages.Count);
            AssertDaemonEnvelopes(kafkaRecords, hand, byName);

            // Every shipped query has expectations above: a new query needs them too.
            // (socket_state_at_time.sql and sockets_per_poll.sql: ChangeOnlyClickHouseTests, here they only run.)
            var checkedQueries = new[] { "connections_closed_per_minute.sql", "rtt_percentiles_by_namespace.sql", "rtt_percentiles_by_pod.sql",
                "socket_state_at_time.sql", "sockets_per_namespace_over_time.sql", "sockets_per_poll.sql", "top_connections_by_retransmits.sql", "top_pods_by_retransmits.sql" };
            Assert.Equal(checkedQueries, queries.Select(Path.GetFileName));
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    /// <summary>
    /// The shipped Kafka table is created as shipped (proving its DDL) and set aside; in its place a Null
    /// table with the same columns, whose virtual Kafka columns (_error, _topic...) read as "no error", so
    /// the shipped materialized views fire on INSERT exactly as they fire on a consumed Kafka block.
    /// </summary>
    internal const string KafkaStandIn = """
        RENAME TABLE xtcp.xtcp_flat_records_kafka TO xtcp.xtcp_flat_records_kafka_shipped;
        CREATE TABLE xtcp.xtcp_flat_records_kafka AS xtcp.xtcp_flat_records_kafka_shipped ENGINE = Null;
        ALTER TABLE xtcp.xtcp_flat_records_kafka
            ADD COLUMN _error String ALIAS '',
            ADD COLUMN _topic LowCardinality(String) ALIAS 'xtcp',
            ADD COLUMN _partition UInt64 ALIAS 0,
            ADD COLUMN _offset UInt64 ALIAS 0,
            ADD COLUMN _raw_message String ALIAS '';
        """;

    /// <summary>Every file of a directory, one length-delimited Envelope each, read with our proto.</summary>
    internal static string Load(string directory) =>
        $"INSERT INTO xtcp.xtcp_flat_records_kafka SELECT * FROM file('{directory}/*.pb', 'ProtobufList') SETTINGS format_schema = '{Proto}:XtcpFlatRecord'";

    private const string PerHost = """
        SELECT
            hostname,
            count() AS rows,
            countIf(inet_diag_msg_family = 2) AS ipv4,
            countIf(inet_diag_msg_family = 2
                AND length(inet_diag_msg_socket_source) = 16 AND substring(inet_diag_msg_socket_source, 5) = repeat(char(0), 12)
                AND length(inet_diag_msg_socket_destination) = 16 AND substring(inet_diag_msg_socket_destination, 5) = repeat(char(0), 12)) AS ipv4_as_xtcp2,
            countIf(length(inet_diag_msg_socket_source) = 16 AND length(inet_diag_msg_socket_destination) = 16) AS sixteen_byte_addresses,
            toString(sum(tcp_info_total_retrans)) AS total_retrans,
            countIf(congestion_algorithm_enum = 'cubic') AS cubic,
            countIf(dump_incomplete) AS dump_incomplete,
            arraySort(groupUniqArray(source_address)) AS sources,
            groupUniqArray(_table) AS tables
        FROM xtcp.xtcp_flat_records
        GROUP BY hostname
        ORDER BY hostname
        """;

    internal static void WriteEach(string directory, IEnumerable<byte[]> envelopes)
    {
        Directory.CreateDirectory(directory);
        var i = 0;
        foreach (var e in envelopes) File.WriteAllBytes(Path.Combine(directory, $"{i++:D4}.pb"), e);
    }

    private static FlatRecord[] KafkaRecords(DateTimeOffset now)
    {
        var records = new FlatRecord[KafkaPolls * KafkaPerPoll];
        for (var poll = 0; poll < KafkaPolls; poll++)
        {
            var context = new RecordContext
            {
                Hostname = KafkaHost,
                Netns = "kafka-ns",
                NetnsInode = 4026532001,
                TimestampNs = (now.AddMinutes(-20).AddSeconds(10 * poll).UtcTicks - DateTime.UnixEpoch.Ticks) * 100,
                DaemonVersion = "test",
            };
            for (var i = 0; i < KafkaPerPoll; i++)
            {
                var r = SampleRecords.One(i, seed: 3);
                r.Context = context;
                r.RecordCounter = (ulong)(poll * KafkaPerPoll + i);
                records[poll * KafkaPerPoll + i] = r;
            }
        }
        return records;
    }

    /// <summary>Through the Kafka destination to the mock cluster, then consumed back: the raw messages.</summary>
    private static async Task<List<byte[]>> ProduceAndConsumeBack(FlatRecord[] records)
    {
        using var cluster = new KafkaMockCluster(1);
        var topic = "xt-clickhouse-" + Guid.NewGuid().ToString("N")[..8];
        cluster.CreateTopic(topic, 1, 1);
        var options = new SinkOptions { Dest = "kafka:" + cluster.BootstrapServers, Topic = topic, EnvelopeFlushRows = KafkaFlushRows };
        Assert.True(DestinationSpec.TryParse(options.Dest, out var spec, out var error), error);
        using (var destination = DestinationFactory.Create(spec, options, new ProtobufListMarshaller(), NullLogger.Instance))
        {
            var batcher = new EnvelopeBatcher(options, new ProtobufListMarshaller(), destination, NullLogger.Instance);
            for (var poll = 0; poll < KafkaPolls; poll++)
            {
                batcher.Append(records.AsSpan(poll * KafkaPerPoll, KafkaPerPoll));
                batcher.EndOfPoll(FlushReason.PollEnd);
            }
            await batcher.ShutdownAsync(TimeSpan.FromSeconds(30));
        }

        var expected = KafkaPolls * KafkaPerPoll / KafkaFlushRows;
        var config = new ConsumerConfig
        {
            BootstrapServers = cluster.BootstrapServers,
            GroupId = "xt-clickhouse-" + Guid.NewGuid().ToString("N"),
            EnableAutoCommit = false,
            AutoOffsetReset = AutoOffsetReset.Earliest,
        };
        using var consumer = new ConsumerBuilder<Ignore, byte[]>(config).Build();
        consumer.Assign(new TopicPartitionOffset(topic, 0, Offset.Beginning));
        var messages = new List<byte[]>();
        var deadline = Stopwatch.StartNew();
        while (messages.Count < expected && deadline.Elapsed < TimeSpan.FromSeconds(30))
        {
            var result = consumer.Consume(TimeSpan.FromMilliseconds(500));
            if (result == null || result.IsPartitionEOF) continue;
            Assert.Single(SinkTestSupport.DecodeProtobufList(result.Message.Value)); // one envelope per message
            messages.Add(result.Message.Value);
        }
        return messages;
    }

    /// <summary>`replay` of a real capture into a protobufList file, split into its length-delimited envelopes.</summary>
    private static List<byte[]> Replay(string path)
    {
        var result = CliRunner.Run("replay", TestPaths.Fixture("6_6_44/tcp_100_sockets.pcap"), "--marshal", "protobufList",
            "--dest", "file:" + path, "--hostname", ReplayHost, "--envelope-flush-rows", "500");
        Assert.True(result.ExitCode == 0, result.Stderr);
        var bytes = File.ReadAllBytes(path);
        var envelopes = new List<byte[]>();
        var input = new CodedInputStream(bytes);
        while (!input.IsAtEnd)
        {
            var start = (int)input.Position;
            var length = input.ReadLength();
            var end = (int)input.Position + length;
            envelopes.Add(bytes[start..end]);
            input = new CodedInputStream(bytes, end, bytes.Length - end);
        }
        Assert.Equal(3, envelopes.Count);
        return envelopes;
    }

    private static void AssertColumnsMatchTheProto(JsonElement[] columns)
    {
        var proto = XtcpFlatRecord.Descriptor.Fields.InFieldNumberOrder().Select(f => f.Name).OrderBy(n => n, StringComparer.Ordinal).ToArray();
        var kafka = columns.Where(c => Str(c, "table") == "xtcp_flat_records_kafka_shipped").ToArray();
        var stored = columns.Where(c => Str(c, "table") == "xtcp_flat_records_v1" && Str(c, "default_kind") != "ALIAS").ToArray();
        // Every proto field has a column of the same name, in both tables, and nothing else is stored.
        Assert.Equal(proto, kafka.Select(c => Str(c, "name")).OrderBy(n => n, StringComparer.Ordinal));
        Assert.Equal(proto, stored.Select(c => Str(c, "name")).OrderBy(n => n, StringComparer.Ordinal));
        var storedTypes = stored.ToDictionary(c => Str(c, "name"), c => Str(c, "type"));
        foreach (var c in kafka)
        {
            var name = Str(c, "name");
            var expected = name == "timestamp_ns" ? "DateTime64(9, 'UTC')" : Str(c, "type");
            Assert.True(expected == storedTypes[name], $"column {name}: Kafka table {Str(c, "type")}, MergeTree {storedTypes[name]}");
        }
        Assert.Equal(["destination_address", "source_address"],
            columns.Where(c => Str(c, "default_kind") == "ALIAS").Select(c => Str(c, "name")).OrderBy(n => n, StringComparer.Ordinal));
    }

    private static void AssertHandMadeAnswers(HandMadeRecords hand, Dictionary<string, JsonElement[]> r)
    {
        var top = r["hand:top_connections_by_retransmits.sql"];
        Assert.Equal([21L, 11, 12, 101, 111, 131], top.Select(x => Long(x, "cookie")));
        Assert.Equal([50L, 9, 2, 1, 1, 1], top.Select(x => Long(x, "total_retrans")));
        Assert.Equal([30L, 4, 2, 0, 0, 0], top.Select(x => Long(x, "retrans_in_window")));
        Assert.Equal([2L, 2, 2, 1, 1, 1], top.Select(x => Long(x, "samples")));
        Assert.Equal(("10.0.0.21", "10.96.0.1", "pod-b"), (Str(top[0], "source"), Str(top[0], "destination"), Str(top[0], "pod_uid")));
        Assert.Equal(("fd00::11", "fd00::1", "cni-a"), (Str(top[1], "source"), Str(top[1], "destination"), Str(top[1], "netns")));

        var pods = r["hand:top_pods_by_retransmits.sql"];
        Assert.Equal(["pod-b", "pod-a"], pods.Select(x => Str(x, "pod_uid")));
        Assert.Equal([1L, 3], pods.Select(x => Long(x, "connections")));
        Assert.Equal([1L, 2], pods.Select(x => Long(x, "retransmitting_connections")));
        Assert.Equal([50L, 11], pods.Select(x => Long(x, "total_retrans")));
        Assert.Equal([30L, 6], pods.Select(x => Long(x, "retrans_in_window")));
        Assert.Equal([1L, 1], pods.Select(x => Long(x, "containers")));

        var rttNs = r["hand:rtt_percentiles_by_namespace.sql"];
        Assert.Equal(["cni-b", "cni-a", "default"], rttNs.Select(x => Str(x, "netns")));
        Assert.Equal([2L, 4, 2], rttNs.Select(x => Long(x, "samples")));
        Assert.Equal([1L, 2, 1], rttNs.Select(x => Long(x, "connections")));
        Assert.Equal([70.0, 2.2, 0.3], rttNs.Select(x => x.GetProperty("rtt_ms_max").GetDouble()));
        Assert.Equal([0.3, 0.3, 0.3], rttNs[2].GetProperty("rtt_ms_p50_p90_p99").EnumerateArray().Select(v => v.GetDouble()));

        var rttPod = r["hand:rtt_percentiles_by_pod.sql"];
        Assert.Equal(["pod-b", "pod-a"], rttPod.Select(x => Str(x, "pod_uid")));
        Assert.Equal([2L, 4], rttPod.Select(x => Long(x, "samples")));
        Assert.Equal([70.0, 2.2], rttPod.Select(x => x.GetProperty("rtt_ms_max").GetDouble()));

        // Destroy records (record_origin = 1) only, per minute.
        var closed = r["hand:connections_closed_per_minute.sql"];
        Assert.Equal(HandMadeRecords.ClosedPerMinute.Select(m => Minute(hand.DestroyMinute.AddMinutes(m.Offset))), closed.Select(x => Str(x, "minute")));
        Assert.Equal(HandMadeRecords.ClosedPerMinute.Select(m => (long)m.Count), closed.Select(x => Long(x, "closed")));
        Assert.All(closed, x => Assert.Equal(1, Long(x, "closed_after_retransmits")));
        Assert.All(closed, x => Assert.Equal(HandMadeRecords.Host, Str(x, "hostname")));

        var sockets = r["hand:sockets_per_namespace_over_time.sql"];
        Assert.All(sockets, x => Assert.Equal(Minute(hand.PollMinute), Str(x, "minute")));
        Assert.Equal(["cni-a", "cni-b", "default"], sockets.Select(x => Str(x, "netns")));
        Assert.Equal([3L, 1, 1], sockets.Select(x => Long(x, "sockets")));
        Assert.Equal([2L, 1, 1], sockets.Select(x => Long(x, "established")));
        Assert.Equal([1L, 0, 0], sockets.Select(x => Long(x, "listening")));
        Assert.All(sockets, x => Assert.Equal(2, Long(x, "polls")));
    }

    private static void AssertDaemonEnvelopes(FlatRecord[] kafkaRecords, HandMadeRecords hand, Dictionary<string, JsonElement[]> r)
    {
        var hosts = r["per host"].ToDictionary(x => Str(x, "hostname"));
        Assert.Equal([HandMadeRecords.Host, KafkaHost, ReplayHost], hosts.Keys.Order(StringComparer.Ordinal));
        Assert.All(hosts.Values, h => Assert.Equal(["xtcp_flat_records_v1"], h.GetProperty("tables").EnumerateArray().Select(t => t.GetString())));
        Assert.All(hosts.Values, h => Assert.Equal(Long(h, "rows"), Long(h, "sixteen_byte_addresses")));
        Assert.All(hosts.Values, h => Assert.Equal(Long(h, "ipv4"), Long(h, "ipv4_as_xtcp2")));

        // Kafka: the same rows, field values through ClickHouse's own protobuf reader and our DDL's types.
        var messages = kafkaRecords.Select(x => FlatRecordMapper.ToMessage(x)).ToArray();
        var kafka = hosts[KafkaHost];
        Assert.Equal(messages.Length, Long(kafka, "rows"));
        Assert.Equal(messages.Count(m => m.InetDiagMsgFamily == 2), Long(kafka, "ipv4"));
        Assert.Equal(messages.Sum(m => (long)m.TcpInfoTotalRetrans), Long(kafka, "total_retrans"));
        Assert.Equal(messages.Count(m => m.CongestionAlgorithmEnum == XtcpFlatRecord.Types.CongestionAlgorithm.Cubic), Long(kafka, "cubic"));
        Assert.Equal(messages.Count(m => m.DumpIncomplete), Long(kafka, "dump_incomplete"));
        var expectedSources = messages.Select(m => AddressText(m.InetDiagMsgFamily, m.InetDiagMsgSocketSource)).Distinct().Order(StringComparer.Ordinal);
        Assert.Equal(expectedSources, kafka.GetProperty("sources").EnumerateArray().Select(s => s.GetString()!).Order(StringComparer.Ordinal));

        // Replay of a real kernel capture: 1,200 records, IPv4 ones as xtcp2 writes them.
        var replay = hosts[ReplayHost];
        Assert.Equal(1200, Long(replay, "rows"));
        Assert.True(Long(replay, "ipv4") > 0);
        Assert.Contains("127.0.0.1", replay.GetProperty("sources").EnumerateArray().Select(s => s.GetString()));

        // xtcp2's own self-test query runs unchanged: every row but the host namespace's ("default").
        var total = hand.RowCount + messages.Length + 1200;
        Assert.Equal(total - hand.DefaultNamespaceRows, Long(r["xtcp2 self-test"][0], "c"));
        Assert.Equal(0, Long(r["errors"][0], "c"));

        // With everything loaded, every query still runs; the daemon's namespaces show their poll sizes.
        var sockets = r["all:sockets_per_namespace_over_time.sql"];
        Assert.Contains(sockets, x => Str(x, "hostname") == ReplayHost && Str(x, "netns") == "replay" && Long(x, "sockets") == 1200);
        Assert.Contains(sockets, x => Str(x, "hostname") == KafkaHost && Str(x, "netns") == "kafka-ns" && Long(x, "sockets") == KafkaPerPoll);
        var top = r["all:top_connections_by_retransmits.sql"];
        Assert.Equal(20, top.Length);
        Assert.True(top.Select(x => Long(x, "total_retrans")).SequenceEqual(top.Select(x => Long(x, "total_retrans")).OrderDescending()));
    }

    private static string AddressText(uint family, ByteString raw16)
    {
        var bytes = raw16.ToByteArray();
        return new IPAddress(family == 2 ? bytes[..4] : bytes).ToString();
    }

    private static string Minute(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture);

    private static string Str(JsonElement e, string name) => e.GetProperty(name).GetString()!;

    /// <summary>ClickHouse's JSON writes 64-bit integers as strings, smaller ones as numbers.</summary>
    private static long Long(JsonElement e, string name)
    {
        var v = e.GetProperty(name);
        return v.ValueKind == JsonValueKind.String ? long.Parse(v.GetString()!, System.Globalization.CultureInfo.InvariantCulture) : v.GetInt64();
    }
}
