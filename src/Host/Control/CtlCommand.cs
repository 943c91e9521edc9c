using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using XtcpConfig.V1;
using XtcpEpoll.Host.Cli;
using XtcpEpoll.Host.Config;
using XtcpEpoll.Loop;
using XtcpEpoll.Sinks.Options;

namespace XtcpEpoll.Host.Control;

/// <summary>`xtcp-epoll ctl get | set-poll-frequency F [--timeout T] | trigger-poll | poll-burst --count N --interval D` (xtcp2ctl's verbs).</summary>
internal static class CtlCommand
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);

    public static int Get(ControlSettings settings, TextWriter stdout, TextWriter stderr)
        => Call(settings, stderr, client =>
        {
            var reply = client.Get(new GetRequest(), deadline: DateTime.UtcNow + Deadline);
            stdout.WriteLine(JsonFormatter.Default.Format(reply.Config));
        });

    public static int SetPollFrequency(ControlSettings settings, string frequencyText, string? timeoutText, TextWriter stdout, TextWriter stderr)
    {
        if (!GoDuration.TryParse(frequencyText, out var frequency)) return Usage(stderr, $"invalid frequency \"{frequencyText}\": {GoDuration.Allowed}");
        var timeout = CollectorOptions.DefaultTimeoutFor(frequency);
        if (timeoutText != null && !GoDuration.TryParse(timeoutText, out timeout)) return Usage(stderr, $"invalid --timeout \"{timeoutText}\": {GoDuration.Allowed}");
        return Call(settings, stderr, client =>
        {
            var reply = client.SetPollFrequency(new SetPollFrequencyRequest
            {
                PollFrequency = Duration.FromTimeSpan(frequency),
                PollTimeout = Duration.FromTimeSpan(timeout),
            }, deadline: DateTime.UtcNow + Deadline);
            stdout.WriteLine($"poll frequency {GoDuration.Format(reply.Config.PollFrequency.ToTimeSpan())}, timeout {GoDuration.Format(reply.Config.PollTimeout.ToTimeSpan())}");
        });
    }

    public static int TriggerPoll(ControlSettings settings, TextWriter stdout, TextWriter stderr)
        => Call(settings, stderr, client =>
        {
            client.TriggerPoll(new TriggerPollRequest(), deadline: DateTime.UtcNow + Deadline);
            stdout.WriteLine("poll started");
        });

    public static int PollBurst(ControlSettings settings, string countText, string intervalText, TextWriter stdout, TextWriter stderr)
    {
        if (!uint.TryParse(countText, out var count)) return Usage(stderr, $"invalid --count \"{countText}\": a number from 1 to 1000");
        if (!GoDuration.TryParse(intervalText, out var interval)) return Usage(stderr, $"invalid --interval \"{intervalText}\": {GoDuration.Allowed}");
        return Call(settings, stderr, client =>
        {
            var reply = client.TriggerPollBurst(new TriggerPollBurstRequest { Count = count, Interval = Duration.FromTimeSpan(interval) }, deadline: DateTime.UtcNow + Deadline);
            stdout.WriteLine($"burst of {reply.Count} polls, {GoDuration.Format(reply.Interval.ToTimeSpan())} apart, started");
        });
    }

    private static int Call(ControlSettings settings, TextWriter stderr, Action<ConfigService.ConfigServiceClient> call)
    {
        using var channel = ControlChannel.Open(settings);
        try
        {
            call(new ConfigService.ConfigServiceClient(channel));
            return ExitCodes.Ok;
        }
        catch (RpcException e)
        {
            stderr.WriteLine("xtcp-epoll ctl: " + ControlChannel.Explain(e, settings));
            return e.StatusCode is StatusCode.InvalidArgument or StatusCode.FailedPrecondition or StatusCode.ResourceExhausted ? ExitCodes.Usage : ExitCodes.Failure;
        }
    }

    private static int Usage(TextWriter stderr, string message)
    {
        stderr.WriteLine("xtcp-epoll ctl: " + message);
        return ExitCodes.Usage;
    }
}
