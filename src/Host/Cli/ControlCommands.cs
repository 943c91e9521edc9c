using System.CommandLine;
using XtcpEpoll.Host.Config;
using XtcpEpoll.Host.Control;

namespace XtcpEpoll.Host.Cli;

/// <summary>The `ctl` and `watch` command trees (clients of the daemon's control plane, in the same executable).</summary>
internal static class ControlCommands
{
    public static Command Ctl(CommandLine cli)
    {
        var ctl = new Command("ctl", "Control a running daemon over its control socket (xtcp2's ConfigService).");

        var get = new Command("get", "Print the daemon's configuration (xtcp2's XtcpConfig, as JSON).");
        var getOptions = CommandLine.AddClientOptions(get);
        get.SetAction(parse => cli.GuardCommand(() => CtlCommand.Get(cli.BindClient(parse, getOptions), cli.Stdout, cli.Stderr)));
        ctl.Add(get);

        var setFrequency = new Command("set-poll-frequency", "Change the poll period (and deadline) live.");
        var frequency = new Argument<string>("FREQUENCY") { Description = "New poll period, e.g. 30s." };
        var timeout = new Option<string>("--timeout") { Description = "New poll deadline, below FREQUENCY (default: 5s, or half a shorter FREQUENCY).", HelpName = "duration" };
        setFrequency.Add(frequency);
        setFrequency.Add(timeout);
        var setOptions = CommandLine.AddClientOptions(setFrequency);
        setFrequency.SetAction(parse => cli.GuardCommand(() => CtlCommand.SetPollFrequency(cli.BindClient(parse, setOptions),
            parse.GetValue(frequency) ?? "", parse.GetValue(timeout), cli.Stdout, cli.Stderr)));
        ctl.Add(setFrequency);

        var trigger = new Command("trigger-poll", "Run a poll now (or right after the running one).");
        var triggerOptions = CommandLine.AddClientOptions(trigger);
        trigger.SetAction(parse => cli.GuardCommand(() => CtlCommand.TriggerPoll(cli.BindClient(parse, triggerOptions), cli.Stdout, cli.Stderr)));
        ctl.Add(trigger);

        var burst = new Command("poll-burst", "Run COUNT polls INTERVAL apart (one burst at a time).");
        var count = new Option<string>("--count") { Description = "Polls in the burst (1-1000).", Required = true, HelpName = "N" };
        var interval = new Option<string>("--interval") { Description = "Time between them (1s-1h, above the poll timeout).", Required = true, HelpName = "duration" };
        burst.Add(count);
        burst.Add(interval);
        var burstOptions = CommandLine.AddClientOptions(burst);
        burst.SetAction(parse => cli.GuardCommand(() => CtlCommand.PollBurst(cli.BindClient(parse, burstOptions),
            parse.GetValue(count) ?? "", parse.GetValue(interval) ?? "", cli.Stdout, cli.Stderr)));
        ctl.Add(burst);
        return ctl;
    }

    public static Command Watch(CommandLine cli)
    {
        var watch = new Command("watch", "Show the daemon's records live, like ss -ti for every namespace of the host.");
        var netns = Text(watch, "--netns", "Only this namespace (its name, e.g. default, or its inode).");
        var pod = Text(watch, "--pod", "Only sockets of this pod (pod uid or its prefix).");
        var container = Text(watch, "--container", "Only sockets of this container (id or its prefix).");
        var port = Text(watch, "--port", "Only sockets with this local or peer port.");
        var state = Text(watch, "--state", "Only these TCP states (as --states: established,listen,...).");
        var addr = Text(watch, "--addr", "Only sockets with this local or peer address.");
        var json = new Option<bool>("--json") { Description = "One record per line as proto3 JSON (jsonl) instead of a table." };
        var poll = new Option<bool>("--poll") { Description = "Run a poll per refresh (PollFlatRecords) instead of following the daemon's own polls." };
        var interval = Text(watch, "--interval", "With --poll: time between refreshes (default 2s).");
        var count = Text(watch, "--count", "Stop after this many polls (default 0 = until interrupted).");
        watch.Add(json);
        watch.Add(poll);
        var options = CommandLine.AddClientOptions(watch);
        watch.SetAction(parse => cli.GuardCommand(() =>
        {
            var settings = cli.BindClient(parse, options);
            var filter = WatchFilter.Parse(parse.GetValue(netns), parse.GetValue(pod), parse.GetValue(container), parse.GetValue(port),
                parse.GetValue(state), parse.GetValue(addr), out var error) ?? throw new ConfigException(error);
            var refresh = TimeSpan.FromSeconds(2);
            if (parse.GetValue(interval) is { } text && !Sinks.Options.GoDuration.TryParse(text, out refresh))
                throw new ConfigException($"invalid --interval \"{text}\": {Sinks.Options.GoDuration.Allowed}");
            int polls = 0;
            if (parse.GetValue(count) is { } countText && (!int.TryParse(countText, out polls) || polls < 0))
                throw new ConfigException($"invalid --count \"{countText}\": a number, 0 or more");
            return new WatchCommand(settings, filter, parse.GetValue(json), parse.GetValue(poll), refresh, polls, cli.Stdout, cli.Stderr).Run();
        }));
        return watch;
    }

    private static Option<string> Text(Command command, string name, string description)
    {
        var option = new Option<string>(name) { Description = description, HelpName = "value" };
        command.Add(option);
        return option;
    }
}
