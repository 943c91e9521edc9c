extern alias xtcp2;

using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using xtcp2::XtcpConfig.V1;
using Xunit;

namespace XtcpEpoll.Tests.Host.Control;

/// <summary>
/// The daemon's ConfigService as xtcp2's own generated client (proto/xtcp2, compiled into the tests) sees it,
/// over the unix socket: the services, messages and validation answers an xtcp2 tool relies on.
/// </summary>
public class Xtcp2ClientTests
{
    [Fact]
    public async Task TriggerPollBurst_of_three_one_second_apart_runs_three_polls()
    {
        // A period that never comes round during the test: every poll after the first is the burst's.
        using var daemon = new ControlDaemon("--dest", "null", "--frequency", "10m", "--timeout", "500ms", "--netns-dirs", "");
        daemon.Process.WaitUntil(() => daemon.MetricSum("xtcp_polls_total") >= 1, ControlDaemon.Patience, "the first poll");
        var before = daemon.MetricSum("xtcp_polls_total");
        using var channel = daemon.Channel();
        var client = new ConfigService.ConfigServiceClient(channel);

        var reply = await client.TriggerPollBurstAsync(new TriggerPollBurstRequest { Count = 3, Interval = Duration.FromTimeSpan(TimeSpan.FromSeconds(1)) });

        Assert.Equal(3u, reply.Count);
        Assert.Equal(TimeSpan.FromSeconds(1), reply.Interval.ToTimeSpan());
        daemon.Process.WaitUntil(() => daemon.Metric("xtcp_polls_total", "trigger=\"ctl\"") >= 3, ControlDaemon.Patience, "three burst polls");
        // A second burst while this one runs would be refused; once over, the count stays where the burst left it.
        Assert.Equal(before + 3, daemon.MetricSum("xtcp_polls_total"));
        Assert.Equal(3, daemon.Metric("xtcp_polls_total", "trigger=\"ctl\""));
    }

    [Fact]
    public async Task A_second_burst_while_one_runs_is_refused_and_bad_bursts_are_invalid()
    {
        using var daemon = new ControlDaemon("--dest", "null", "--frequency", "10m", "--timeout", "500ms", "--netns-dirs", "");
        using var channel = daemon.Channel();
        var client = new ConfigService.ConfigServiceClient(channel);

        await client.TriggerPollBurstAsync(new TriggerPollBurstRequest { Count = 5, Interval = Duration.FromTimeSpan(TimeSpan.FromSeconds(10)) });
        var busy = await Assert.ThrowsAsync<RpcException>(async () => await client.TriggerPollBurstAsync(new TriggerPollBurstRequest { Count = 1, Interval = Duration.FromTimeSpan(TimeSpan.FromSeconds(1)) }));
        Assert.Equal(StatusCode.ResourceExhausted, busy.StatusCode);
        foreach (var (count, seconds) in new[] { (0u, 1), (1001u, 1), (1u, 0), (1u, 3601) })
        {
            var invalid = await Assert.ThrowsAsync<RpcException>(async () => await client.TriggerPollBurstAsync(new TriggerPollBurstRequest { Count = count, Interval = Duration.FromTimeSpan(TimeSpan.FromSeconds(seconds)) }));
            Assert.Equal(StatusCode.InvalidArgument, invalid.StatusCode);
        }
    }

    [Fact]
    public async Task SetPollFrequency_changes_the_period_and_refuses_invalid_values_changing_nothing()
    {
        using var daemon = new ControlDaemon("--dest", "null", "--frequency", "10m", "--timeout", "500ms", "--netns-dirs", "");
        daemon.Process.WaitUntil(() => daemon.MetricSum("xtcp_polls_total") >= 1, ControlDaemon.Patience, "the first poll");
        using var channel = daemon.Channel();
        var client = new ConfigService.ConfigServiceClient(channel);

        foreach (var (frequency, timeout) in new[] { (2.0, 2.0), (2.0, 3.0), (0.0, 0.0), (2.0, 0.0), (604_801.0, 1.0) })
        {
            var e = await Assert.ThrowsAsync<RpcException>(async () => await client.SetPollFrequencyAsync(new SetPollFrequencyRequest
            {
                PollFrequency = Duration.FromTimeSpan(TimeSpan.FromSeconds(frequency)),
                PollTimeout = Duration.FromTimeSpan(TimeSpan.FromSeconds(timeout)),
            }));
            Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
            Assert.Contains("poll_", e.Status.Detail);
        }
        var unchanged = (await client.GetAsync(new GetRequest())).Config;
        Assert.Equal(TimeSpan.FromMinutes(10), unchanged.PollFrequency.ToTimeSpan());
        Assert.Equal(TimeSpan.FromMilliseconds(500), unchanged.PollTimeout.ToTimeSpan());

        var timerPolls = daemon.Metric("xtcp_polls_total", "trigger=\"timer\"");
        var reply = await client.SetPollFrequencyAsync(new SetPollFrequencyRequest
        {
            PollFrequency = Duration.FromTimeSpan(TimeSpan.FromSeconds(1)),
            PollTimeout = Duration.FromTimeSpan(TimeSpan.FromMilliseconds(500)),
        });
        Assert.Equal(TimeSpan.FromSeconds(1), reply.Config.PollFrequency.ToTimeSpan());
        // Ten minutes became one second: timer polls come again.
        daemon.Process.WaitUntil(() => daemon.Metric("xtcp_polls_total", "trigger=\"timer\"") >= timerPolls + 3, ControlDaemon.Patience, "polls at the new period");
    }

    [Fact]
    public async Task Set_refuses_what_cannot_change_live_and_SetS3Upload_is_unimplemented()
    {
        using var daemon = new ControlDaemon("--dest", "null", "--frequency", "10m", "--timeout", "500ms", "--netns-dirs", "");
        using var channel = daemon.Channel();
        var client = new ConfigService.ConfigServiceClient(channel);
        var config = (await client.GetAsync(new GetRequest())).Config;
        Assert.Equal("null", config.Dest);

        var changed = config.Clone();
        changed.Topic = "elsewhere";
        changed.PollFrequency = Duration.FromTimeSpan(TimeSpan.FromMinutes(5));
        var refused = await Assert.ThrowsAsync<RpcException>(async () => await client.SetAsync(new SetRequest { Config = changed }));
        Assert.Equal(StatusCode.FailedPrecondition, refused.StatusCode);
        Assert.Contains("topic", refused.Status.Detail);
        Assert.Equal(TimeSpan.FromMinutes(10), (await client.GetAsync(new GetRequest())).Config.PollFrequency.ToTimeSpan());

        var live = config.Clone();
        live.PollFrequency = Duration.FromTimeSpan(TimeSpan.FromMinutes(5));
        Assert.Equal(TimeSpan.FromMinutes(5), (await client.SetAsync(new SetRequest { Config = live })).Config.PollFrequency.ToTimeSpan());

        var s3 = await Assert.ThrowsAsync<RpcException>(async () => await client.SetS3UploadAsync(new SetS3UploadRequest { S3ParquetFlushThresholdBytes = 1 }));
        Assert.Equal(StatusCode.Unimplemented, s3.StatusCode);
    }
}
