extern alias xtcp2;

using Grpc.Core;
using xtcp2::XtcpFlatRecord.V1;
using Xunit;
using Xunit.Abstractions;

namespace XtcpEpoll.Tests.Host.Control;

/// <summary>
/// Issue 23's thread budget, on the shipped binary with the control socket on: the same threads idle, while
/// streaming to several clients, and after they left; at most 16. Before the fix the count was 15 idle, 27 streaming
/// and drifted 15-18 afterwards (thread-pool workers came with load and with Kestrel's periodic work, and retired).
/// </summary>
public class ControlThreadBudgetTests(ITestOutputHelper output)
{
    private const int Clients = 6;
    /// <summary>The issue's budget for an idle daemon with the control socket on, Kestrel's threads included.</summary>
    private const int IdleBudget = 16;
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(3);
    /// <summary>Longer than the 2 s after which idle pool workers used to retire (and come back on Kestrel's heartbeat work).</summary>
    private static readonly TimeSpan AfterWindow = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task Threads_stay_the_same_idle_streaming_to_several_clients_and_after()
    {
        using var daemon = new ControlDaemon("--dest", "null", "--frequency", "300ms", "--timeout", "200ms", "--jitter-pct", "0", "--netns-dirs", "");
        int pid = daemon.Process.Pid;
        // Its own metrics listener is a socket of the host namespace: every poll has a record to stream.
        daemon.Process.WaitUntil(() => daemon.MetricSum("xtcp_polls_total") >= 2, ControlDaemon.Patience, "two polls");

        var idle = await SampleAsync(pid, Window);

        var channels = Enumerable.Range(0, Clients).Select(_ => daemon.Channel()).ToList(); // one connection each
        using var stop = new CancellationTokenSource();
        var firstRecords = channels.Select(_ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).ToList();
        var readers = channels.Select((channel, i) => ReadAsync(channel, firstRecords[i], stop.Token)).ToList();
        await Task.WhenAll(firstRecords.Select(f => f.Task)).WaitAsync(ControlDaemon.Patience);
        Assert.Equal(Clients, daemon.MetricSum("xtcp_stream_subscribers"));
        var streaming = await SampleAsync(pid, Window);
        var receivedBeforeStop = await StopAsync(stop, readers);
        foreach (var channel in channels) channel.Dispose();

        daemon.Process.WaitUntil(() => daemon.MetricSum("xtcp_stream_subscribers") == 0, ControlDaemon.Patience, "the subscribers gone");
        var after = await SampleAsync(pid, AfterWindow);

        output.WriteLine($"threads: idle {Describe(idle)}; streaming to {Clients} {Describe(streaming)}; after {Describe(after)}; records per client {string.Join(",", receivedBeforeStop)}");
        output.WriteLine("threads now: " + string.Join(", ", ThreadIds.Of(pid).Values.Order()));
        Assert.All(receivedBeforeStop, n => Assert.True(n >= 2, $"a client received {n} records"));
        Assert.True(idle.Max(s => s.Count) <= IdleBudget, $"idle {Describe(idle)} > {IdleBudget}");
        var all = idle.Concat(streaming).Concat(after).ToList();
        // Constant: not one thread came or went, whatever the clients did.
        var first = all[0].Tids;
        var changed = all.FirstOrDefault(s => !s.Tids.SetEquals(first));
        Assert.True(changed == null, $"the threads changed: {first.Count} at first, then {changed?.Count} ({string.Join(", ", changed?.Tids.Except(first).Select(t => "+" + t) ?? [])} {string.Join(", ", first.Except(changed?.Tids ?? []).Select(t => "-" + t))}); idle {Describe(idle)}, streaming {Describe(streaming)}, after {Describe(after)}");
        daemon.Process.Signal(NativeTest.SIGTERM);
        Assert.Equal(0, daemon.Process.WaitForExit(ControlDaemon.Patience));
    }

    private static async Task<int> ReadAsync(Grpc.Net.Client.GrpcChannel channel, TaskCompletionSource firstRecord, CancellationToken stop)
    {
        var client = new XTCPFlatRecordService.XTCPFlatRecordServiceClient(channel);
        using var call = client.FlatRecords(new FlatRecordsRequest(), cancellationToken: stop);
        int received = 0;
        try
        {
            while (await call.ResponseStream.MoveNext(stop))
                if (++received == 1) firstRecord.TrySetResult();
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.Cancelled) { }
        catch (OperationCanceledException) { }
        firstRecord.TrySetException(new InvalidOperationException("the stream ended before its first record"));
        return received;
    }

    private static async Task<int[]> StopAsync(CancellationTokenSource stop, List<Task<int>> readers)
    {
        stop.Cancel();
        return await Task.WhenAll(readers).WaitAsync(ControlDaemon.Patience);
    }

    private sealed record Sample(int Count, HashSet<int> Tids);

    /// <summary>The daemon's threads every 100 ms over <paramref name="window"/> (/proc/PID/task).</summary>
    private static async Task<List<Sample>> SampleAsync(int pid, TimeSpan window)
    {
        var samples = new List<Sample>();
        var end = DateTime.UtcNow + window;
        while (DateTime.UtcNow < end)
        {
            var tids = ThreadIds.Of(pid).Keys.ToHashSet();
            samples.Add(new Sample(tids.Count, tids));
            await Task.Delay(100);
        }
        return samples;
    }

    private static string Describe(List<Sample> samples)
    {
        int min = samples.Min(s => s.Count), max = samples.Max(s => s.Count);
        return min == max ? $"{min}" : $"{min}-{max}";
    }
}
