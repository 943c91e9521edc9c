using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using XtcpConfig.V1;
using XtcpEpoll.Loop.Control;
using XtcpEpoll.Sinks.Options;

namespace XtcpEpoll.Host.Control;

/// <summary>
/// xtcp2's xtcp_config.v1.ConfigService over the running collector. Validation follows xtcp2's protovalidate
/// rules (proto/xtcp2/xtcp_config/v1/xtcp_config.proto) and then ours (CollectorOptions.Validate): a refusal is
/// INVALID_ARGUMENT with one line naming the field, and changes nothing.
/// </summary>
internal sealed class ConfigServiceImpl(ControlPlane plane) : ConfigService.ConfigServiceBase
{
    private static readonly TimeSpan MaxPollDuration = TimeSpan.FromSeconds(604_800); // xtcp2: lte 7 days
    private static readonly TimeSpan MinBurstInterval = TimeSpan.FromSeconds(1), MaxBurstInterval = TimeSpan.FromHours(1);

    public override Task<GetResponse> Get(GetRequest request, ServerCallContext context)
        => Counted("Get", () => Task.FromResult(new GetResponse { Config = ConfigView.From(plane) }));

    public override Task<SetPollFrequencyResponse> SetPollFrequency(SetPollFrequencyRequest request, ServerCallContext context)
        => Counted("SetPollFrequency", async () =>
        {
            var (frequency, timeout) = PollDurations(request.PollFrequency, request.PollTimeout);
            await Apply(frequency, timeout).ConfigureAwait(false);
            return new SetPollFrequencyResponse { Config = ConfigView.From(plane) };
        });

    public override Task<TriggerPollResponse> TriggerPoll(TriggerPollRequest request, ServerCallContext context)
        => Counted("TriggerPoll", async () =>
        {
            // Returns once the poll has started (or queued behind the running one has started), not at its end.
            if (await plane.Collector.TriggerPollAsync(PollTrigger.Ctl).WaitAsync(context.CancellationToken).ConfigureAwait(false) < 0)
                throw new RpcException(new Status(StatusCode.Unavailable, "the daemon is stopping"));
            return new TriggerPollResponse();
        });

    public override Task<TriggerPollBurstResponse> TriggerPollBurst(TriggerPollBurstRequest request, ServerCallContext context)
        => Counted("TriggerPollBurst", () =>
        {
            if (request.Count is < 1 or > 1000) throw Invalid($"count: value must be from 1 to 1000 (got {request.Count})");
            if (request.Interval == null) throw Invalid("interval: value is required");
            var interval = request.Interval.ToTimeSpan();
            if (interval < MinBurstInterval || interval > MaxBurstInterval) throw Invalid($"interval: value must be from 1s to 1h (got {GoDuration.Format(interval)})");
            if (interval <= plane.Collector.Timeout)
                throw Invalid($"interval {GoDuration.Format(interval)} must exceed poll_timeout {GoDuration.Format(plane.Collector.Timeout)} so each poll completes before the next fires");
            if (!plane.TryStartBurst(request.Count, interval))
                throw new RpcException(new Status(StatusCode.ResourceExhausted, "a poll burst is already running"));
            return Task.FromResult(new TriggerPollBurstResponse { Count = request.Count, Interval = request.Interval });
        });

    /// <summary>
    /// xtcp2 restarts itself with the new configuration; we apply what can change live (poll_frequency,
    /// poll_timeout) and refuse the rest, naming it, rather than restart a daemon under its supervisor.
    /// </summary>
    public override Task<SetResponse> Set(SetRequest request, ServerCallContext context)
        => Counted("Set", async () =>
        {
            if (request.Config == null) throw Invalid("config: value is required");
            var changed = ConfigView.FixedFieldsChanged(ConfigView.From(plane), request.Config);
            if (changed.Count > 0)
                throw new RpcException(new Status(StatusCode.FailedPrecondition,
                    $"only poll_frequency and poll_timeout change live; restart the daemon with new options to change {string.Join(", ", changed)}"));
            var (frequency, timeout) = PollDurations(request.Config.PollFrequency, request.Config.PollTimeout);
            await Apply(frequency, timeout).ConfigureAwait(false);
            return new SetResponse { Config = ConfigView.From(plane) };
        });

    public override Task<SetS3UploadResponse> SetS3Upload(SetS3UploadRequest request, ServerCallContext context)
        => Counted<SetS3UploadResponse>("SetS3Upload", () => throw new RpcException(new Status(StatusCode.Unimplemented, "xtcp-epoll has no s3parquet destination")));

    private static (TimeSpan Frequency, TimeSpan Timeout) PollDurations(Duration? frequency, Duration? timeout)
    {
        if (frequency == null) throw Invalid("poll_frequency: value is required");
        if (timeout == null) throw Invalid("poll_timeout: value is required");
        var f = frequency.ToTimeSpan();
        var t = timeout.ToTimeSpan();
        if (f <= TimeSpan.Zero || f > MaxPollDuration) throw Invalid($"poll_frequency: value must be above 0s and at most 168h (got {GoDuration.Format(f)})");
        if (t <= TimeSpan.Zero || t > MaxPollDuration) throw Invalid($"poll_timeout: value must be above 0s and at most 168h (got {GoDuration.Format(t)})");
        if (t >= f) throw Invalid($"poll_timeout ({GoDuration.Format(t)}) must be less than poll_frequency ({GoDuration.Format(f)})");
        return (f, t);
    }

    private async Task Apply(TimeSpan frequency, TimeSpan timeout)
    {
        if (await plane.Collector.SetPollFrequencyAsync(frequency, timeout).ConfigureAwait(false) is { } error)
            throw Invalid($"{ProtoName(error.Option)} {error.Value}: {error.Requirement}");
    }

    /// <summary>Our option names as xtcp2's field names, so the refusal names what the client sent.</summary>
    private static string ProtoName(string option) => option switch
    {
        "frequency" => "poll_frequency",
        "timeout" => "poll_timeout",
        _ => option,
    };

    private static RpcException Invalid(string message) => new(new Status(StatusCode.InvalidArgument, message));

    private static async Task<T> Counted<T>(string method, Func<Task<T>> body)
    {
        try
        {
            var reply = await body().ConfigureAwait(false);
            ControlMetrics.ControlRequests.WithLabels(method, "ok").Inc();
            return reply;
        }
        catch (RpcException e)
        {
            ControlMetrics.ControlRequests.WithLabels(method, e.StatusCode.ToString()).Inc();
            throw;
        }
    }
}
