using System.Net;
using System.Net.Sockets;
using XtcpEpoll.Loop;
using XtcpEpoll.Netlink.Native;
using XtcpEpoll.Sinks.Records;
using Xunit;

namespace XtcpEpoll.Tests.Loop;

/// <summary>
/// --emit changed against a real namespace and the real kernel: what each poll emits for an idle connection,
/// a connection moving bytes, one whose peer closes, and sockets that close (destroy events).
/// </summary>
public sealed class ChangeOnlyRecordTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);
    private const int K = 4; // keyframe interval in polls (the harness's --frequency is 1h)

    [Fact]
    public void Idle_sockets_come_at_first_sight_then_at_keyframes_busy_ones_every_poll_state_changes_at_once_destroys_always()
    {
        using var farm = new TestNamespaceFarm("loop-changed");
        var ns = farm.Create(SocketKit.None);
        var (listener, idle, busy, closing, doomed) = farm.RunInside(ns, () =>
        {
            var l = DestroyEventTests.Listen(ns, IPAddress.Loopback);
            return (l, Pair(ns, l), Pair(ns, l), Pair(ns, l), Pair(ns, l));
        });
        var options = CollectorHarness.OptionsFor(farm);
        options.Emit = EmitMode.Changed;
        options.KeyframeInterval = options.Frequency * K;
        using var harness = new CollectorHarness(options);
        harness.Start();
        harness.WaitForPolls(1, Wait);

        const int polls = 3 * K + 1, closeAt = 5;
        for (int p = 1; p < polls; p++)
        {
            DestroyEventTests.Transfer(busy.Client, busy.Server, 100 + p); // bytes move before every poll
            if (p == closeAt) closing.Client.Shutdown(SocketShutdown.Send); // the server side goes CLOSE-WAIT
            harness.PollOnce(Wait);
        }

        var first = harness.Sink.Poll(0);
        Assert.Equal(9, first.Count); // the listener and both ends of four connections
        Assert.All(first, r => Assert.Equal(RecordReasons.FirstSight, r.Reason));

        foreach (var socket in new[] { idle.Client, idle.Server, listener })
        {
            var seen = Emissions(harness, socket, polls);
            Assert.All(seen, e => Assert.Equal(RecordReasons.Keyframe, e.Reason));
            // One keyframe per K polls, K apart: 12 polls after the first hold exactly 3.
            Assert.Equal(3, seen.Count);
            Assert.Equal(K, seen[1].Poll - seen[0].Poll);
            Assert.Equal(K, seen[2].Poll - seen[1].Poll);
        }
        foreach (var socket in new[] { busy.Client, busy.Server })
        {
            var seen = Emissions(harness, socket, polls);
            Assert.Equal(Enumerable.Range(1, polls - 1), seen.Select(e => e.Poll));
            Assert.All(seen, e => Assert.Equal(RecordReasons.Changed, e.Reason));
        }
        var closingSeen = Emissions(harness, closing.Server, polls);
        Assert.All(closingSeen.Where(e => e.Poll < closeAt), e => Assert.Equal((TcpState.Established, RecordReasons.Keyframe), (e.State, e.Reason)));
        Assert.Contains((closeAt, RecordReasons.Changed, TcpState.CloseWait), closingSeen); // in the poll it happened

        // A socket that closes is recorded by its destroy event, whatever the table says.
        doomed.Client.Close();
        doomed.Server.Close();
        var destroyed = harness.Sink.WaitForDestroyed(d => d.Count >= 2, Wait);
        Assert.All(destroyed, r => Assert.Equal((RecordOrigins.DestroyEvent, RecordReasons.Destroy), (r.Origin, r.Reason)));
    }

    [Fact]
    public void Under_emit_all_every_socket_comes_every_poll_as_a_snapshot()
    {
        using var farm = new TestNamespaceFarm("loop-emitall");
        var ns = farm.Create(SocketKit.None);
        farm.RunInside(ns, () => Pair(ns, DestroyEventTests.Listen(ns, IPAddress.Loopback)));
        var polls = CollectorHarness.RunPolls(CollectorHarness.OptionsFor(farm), 3, Wait);
        Assert.All(polls, p => Assert.Equal(3, p.Count));
        Assert.All(polls.SelectMany(p => p), r => Assert.Equal(RecordReasons.Snapshot, r.Reason));
    }

    private static (Socket Client, Socket Server) Pair(TestNamespace ns, Socket listener)
    {
        var client = new Socket(listener.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        ns.Sockets.Add(client);
        client.Connect(listener.LocalEndPoint!);
        var server = listener.Accept();
        ns.Sockets.Add(server);
        DestroyEventTests.Transfer(client, server, 10);
        return (client, server);
    }

    private static ushort Port(EndPoint? e) => (ushort)(((IPEndPoint?)e)?.Port ?? 0);

    /// <summary>The polls after the first (1..count-1) that emitted <paramref name="socket"/> (by its ports; a listener's peer port is 0).</summary>
    private static List<(int Poll, uint Reason, byte State)> Emissions(CollectorHarness harness, Socket socket, int count)
    {
        ushort local = Port(socket.LocalEndPoint), remote = socket.Connected ? Port(socket.RemoteEndPoint) : (ushort)0;
        var list = new List<(int, uint, byte)>();
        for (int p = 1; p < count; p++)
            foreach (var r in harness.Sink.Poll(p))
                if (r.SourcePort == local && r.DestinationPort == remote) list.Add((p, r.Reason, r.State));
        return list;
    }
}
