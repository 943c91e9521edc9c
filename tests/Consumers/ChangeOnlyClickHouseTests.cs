using System.Text.Json;
using Google.Protobuf;
using XtcpEpoll.Loop.Changes;
using XtcpEpoll.Netlink.Native;
using XtcpEpoll.Netlink.Parsing;
using XtcpEpoll.Sinks.Records;
using Xunit;
using Xunit.Abstractions;

namespace XtcpEpoll.Tests.Consumers;

/// <summary>
/// The consumer side of --emit changed, in the embedded ClickHouse through the shipped DDL: one run of polls is
/// written both ways (every record as --emit all would send it; the same records through the daemon's own
/// change filter, FingerprintTable + KeyframeSchedule, as --emit changed would), loaded under two host names,
/// and the shipped change-aware queries (socket_state_at_time.sql, sockets_per_poll.sql) give the same
/// answers for both, while the changed stream holds a fraction of the rows.
/// </summary>
public class ChangeOnlyClickHouseTests(ITestOutputHelper output)
{
    private const string AllHost = "all-host", ChangedHost = "changed-host";
    private const int Polls = 24, K = 4, PeriodSeconds = 10;
    private const int LookbackSeconds = K * PeriodSeconds * 5 / 4 + PeriodSeconds; // the queries' rule for this run
    private const int StateChangePoll = 7, ClosePoll = 12, NewSocketPoll = 5;

    [Fact]
    public void State_at_time_and_per_poll_totals_are_the_same_from_the_change_only_stream()
    {
        var engine = ChdbEngine.Ensure();
        var start = DateTimeOffset.UtcNow.AddMinutes(-30);
        var (all, changed) = Streams(start);
        output.WriteLine($"{all.Count} records under all, {changed.Count} under changed");
        Assert.True(changed.Count * 2 < all.Count, $"changed {changed.Count} of {all.Count}");

        var work = Directory.CreateTempSubdirectory("xt-changed-");
        try
        {
            ClickHouseTests.WriteEach(work.FullName, [Envelope(all), Envelope(changed)]);
            var steps = new List<ChdbEngine.Step>();
            foreach (var ddl in new[] { "01_database.sql", "02_kafka.sql", "03_flat_records.sql" })
                steps.Add(new(ddl, File.ReadAllText(Path.Combine(ClickHouseTests.Deploy, "ddl", ddl))));
            steps.Add(new("kafka stand-in", ClickHouseTests.KafkaStandIn));
            steps.Add(new("04_materialized_views.sql", File.ReadAllText(Path.Combine(ClickHouseTests.Deploy, "ddl", "04_materialized_views.sql"))));
            steps.Add(new("load", ClickHouseTests.Load(work.FullName)));
            steps.Add(new("reasons", "SELECT hostname, record_reason, count() AS n FROM xtcp.xtcp_flat_records GROUP BY hostname, record_reason ORDER BY hostname, record_reason"));
            var stateAt = new[] { (StateChangePoll - 1, 5), (StateChangePoll, 0), (ClosePoll, 4), (Polls - 1, 0) };
            foreach (var (poll, plusSeconds) in stateAt)
                steps.Add(new($"state {poll}", StateAt(start.AddSeconds(poll * PeriodSeconds + plusSeconds))));
            steps.Add(new("per poll", Query("sockets_per_poll.sql")));

            var results = engine.Run(steps, out _);
            foreach (var r in results) Assert.True(r.Error == null, $"step '{r.Name}' failed: {r.Error}");
            var byName = results.ToDictionary(r => r.Name, r => r.Rows);

            var reasons = byName["reasons"].Select(x => (Str(x, "hostname"), Long(x, "record_reason"), Long(x, "n"))).ToArray();
            Assert.Contains((AllHost, (long)RecordReasons.Snapshot, (long)all.Count(r => r.RecordOrigin == 0)), reasons);
            Assert.Contains(reasons, x => x.Item1 == ChangedHost && x.Item2 == RecordReasons.Keyframe);

            foreach (var name in stateAt.Select(s => $"state {s.Item1}").Append("per poll"))
            {
                var rows = byName[name];
                var (fromAll, fromChanged) = (WithoutHost(rows, AllHost), WithoutHost(rows, ChangedHost));
                Assert.NotEmpty(fromAll);
                Assert.Equal(fromAll, fromChanged);
            }

            // The answers are the run's: the CLOSE-WAIT shows from its poll, the closed socket is gone after its destroy.
            Assert.DoesNotContain(byName[$"state {StateChangePoll - 1}"], x => Long(x, "state") == TcpState.CloseWait);
            // (rows of both hosts, two namespaces each)
            Assert.Equal(2 * 2, byName[$"state {StateChangePoll}"].Count(x => Long(x, "state") == TcpState.CloseWait));
            Assert.Equal(SocketsAt(ClosePoll) * 2 * 2, byName[$"state {ClosePoll}"].Length);
            var perPoll = byName["per poll"].Where(x => Str(x, "hostname") == ChangedHost).ToArray();
            Assert.Equal(Polls * 2, perPoll.Length); // every poll, both namespaces
            Assert.Equal(Enumerable.Range(0, Polls).SelectMany(p => new[] { SocketsAt(p), SocketsAt(p) }), perPoll.Select(x => (int)Long(x, "sockets")));
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    /// <summary>Sockets of one namespace that poll <paramref name="poll"/> sees (the listener, 10 idle, 2 busy, 1 changing state, 1 closing, 1 new).</summary>
    private static int SocketsAt(int poll) => 1 + 10 + 2 + 1 + (poll < ClosePoll ? 1 : 0) + (poll >= NewSocketPoll ? 1 : 0);

    private static string Query(string file) => Lookback(File.ReadAllText(Path.Combine(ClickHouseTests.Deploy, "queries", file)));

    private static string Lookback(string sql)
    {
        const string shipped = "toIntervalSecond(760)";
        Assert.Contains(shipped, sql);
        return sql.Replace(shipped, $"toIntervalSecond({LookbackSeconds})", StringComparison.Ordinal);
    }

    private static string StateAt(DateTimeOffset at)
    {
        var sql = Query("socket_state_at_time.sql");
        const string shipped = "now64(9, 'UTC') AS at";
        Assert.Contains(shipped, sql);
        return sql.Replace(shipped, $"fromUnixTimestamp64Nano(toInt64({Ns(at)}), 'UTC') AS at", StringComparison.Ordinal);
    }

    /// <summary>
    /// One run of <see cref="Polls"/> polls of two namespaces, as --emit all sends it, and the same records through
    /// the daemon's change filter (keyframes every <see cref="K"/> polls), as --emit changed sends them.
    /// </summary>
    private static (List<FlatRecord> All, List<FlatRecord> Changed) Streams(DateTimeOffset start)
    {
        var all = new List<FlatRecord>();
        var changed = new List<FlatRecord>();
        var schedule = new KeyframeSchedule(K);
        var tally = new EmitTally();
        var namespaces = new[] { ("ns-a", 4026533001UL), ("ns-b", 4026533002UL) };
        var tables = namespaces.Select(_ => new FingerprintTable(schedule)).ToArray();
        for (int poll = 0; poll < Polls; poll++)
        {
            long pollNs = Ns(start.AddSeconds(poll * PeriodSeconds));
            for (int n = 0; n < namespaces.Length; n++)
            {
                var (netns, inode) = namespaces[n];
                var allContext = Context(AllHost, netns, inode, pollNs);
                var changedContext = Context(ChangedHost, netns, inode, pollNs);
                tables[n].BeginPoll((uint)poll + 1);
                foreach (var socket in SocketsOf(n, poll))
                {
                    var record = new FlatRecord { Socket = socket, Context = allContext, RecordReason = RecordReasons.Snapshot };
                    all.Add(record);
                    uint reason = tally.ReasonFor(tables[n], ref record.Socket);
                    if (reason == EmitTally.Suppress) continue;
                    changed.Add(record with { Context = changedContext, RecordReason = reason });
                }
                tables[n].EndPoll();
                if (poll == ClosePoll - 1)
                {
                    // Closed between this poll and the next: its destroy record, under both settings.
                    var final = Socket(n, 20, TcpState.Close, 5000, 5000, poll);
                    long closedNs = pollNs + 3_000_000_000;
                    all.Add(new FlatRecord { Socket = final, Context = allContext, RecordOrigin = RecordOrigins.DestroyEvent, RecordReason = RecordReasons.Destroy, EventTimestampNs = closedNs });
                    changed.Add(new FlatRecord { Socket = final, Context = changedContext, RecordOrigin = RecordOrigins.DestroyEvent, RecordReason = RecordReasons.Destroy, EventTimestampNs = closedNs });
                }
            }
        }
        return (all, changed);
    }

    private static IEnumerable<ParsedSocket> SocketsOf(int ns, int poll)
    {
        yield return Socket(ns, 0, TcpState.Listen, 0, 0, poll);
        for (int i = 1; i <= 10; i++) yield return Socket(ns, i, TcpState.Established, 1000UL * (ulong)i, 500UL * (ulong)i, poll); // idle
        for (int i = 11; i <= 12; i++) yield return Socket(ns, i, TcpState.Established, 1000UL * (ulong)i + 100UL * (ulong)poll * (ulong)poll, 300UL * (ulong)poll, poll); // busy
        yield return Socket(ns, 13, poll >= StateChangePoll ? TcpState.CloseWait : TcpState.Established, 7000, 7001, poll);
        if (poll < ClosePoll) yield return Socket(ns, 20, TcpState.Established, 5000, 5000, poll);
        if (poll >= NewSocketPoll) yield return Socket(ns, 30, TcpState.Established, 900, 900, poll);
    }

    private static unsafe ParsedSocket Socket(int ns, int index, byte state, ulong acked, ulong received, int poll)
    {
        var s = new ParsedSocket
        {
            MessageType = 20, Family = 2, State = state,
            SourcePort = (ushort)(index == 0 ? 8080 : 40000 + index), DestinationPort = (ushort)(index == 0 ? 0 : 8080),
            Cookie = (ulong)(ns * 1000 + index + 1), Present = AttributeSet.Info, TcpInfoLength = 232,
        };
        s.Source[0] = 10; s.Source[3] = (byte)(ns + 1);
        s.Destination[0] = 10; s.Destination[3] = (byte)(index == 0 ? 0 : 9);
        s.Tcp.State = state;
        s.Tcp.BytesAcked = acked;
        s.Tcp.BytesReceived = received;
        s.Tcp.Rtt = 250;
        s.Tcp.SndCwnd = 10;
        // Ages move with time alone: every poll differs, yet they count for nothing under --emit changed.
        s.Tcp.LastDataSent = (uint)(poll * PeriodSeconds * 1000 + index);
        s.Tcp.LastAckRecv = (uint)(poll * PeriodSeconds * 1000);
        return s;
    }

    private static RecordContext Context(string host, string netns, ulong inode, long timestampNs) => new()
    {
        Hostname = host, Netns = netns, NetnsInode = inode, TimestampNs = timestampNs, DaemonVersion = "test",
    };

    private static byte[] Envelope(List<FlatRecord> records)
    {
        var stream = new MemoryStream();
        FlatRecordMapper.ToEnvelope(records.ToArray()).WriteDelimitedTo(stream);
        return stream.ToArray();
    }

    private static long Ns(DateTimeOffset t) => (t.UtcTicks - DateTime.UnixEpoch.Ticks) * 100;

    /// <summary>The rows of one host as JSON text with the host name left out (the two streams' answers compare by value).</summary>
    private static List<string> WithoutHost(JsonElement[] rows, string host) => rows
        .Where(x => Str(x, "hostname") == host)
        .Select(x => string.Join(",", x.EnumerateObject().Where(p => p.Name != "hostname").Select(p => $"{p.Name}={p.Value.GetRawText()}")))
        .ToList();

    private static string Str(JsonElement e, string name) => e.GetProperty(name).GetString()!;

    private static long Long(JsonElement e, string name)
    {
        var v = e.GetProperty(name);
        return v.ValueKind == JsonValueKind.String ? long.Parse(v.GetString()!, System.Globalization.CultureInfo.InvariantCulture) : v.GetInt64();
    }
}
