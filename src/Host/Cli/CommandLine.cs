using System.CommandLine;
using System.CommandLine.Invocation;
using XtcpEpoll.Host.Config;
using XtcpEpoll.Host.Lifecycle;

namespace XtcpEpoll.Host.Cli;

/// <summary>
/// The System.CommandLine tree: root (= collect, the default), `collect`, `replay FILE...`, `version`.
/// System.CommandLine only tokenizes here; every value is validated by <see cref="ConfigBinder"/> so the
/// flag and its XTCP_* environment variable share one rule and one error message.
/// </summary>
public sealed class CommandLine
{
    private readonly TextWriter _stdout;
    private readonly TextWriter _stderr;
    private readonly IReadOnlyDictionary<string, string> _environment;
    private readonly RootCommand _root;

    public CommandLine(TextWriter stdout, TextWriter stderr, IReadOnlyDictionary<string, string> environment)
    {
        _stdout = stdout;
        _stderr = stderr;
        _environment = environment;

        _root = new RootCommand("xtcp-epoll: TCP socket telemetry (inet_diag) for every network namespace. "
            + "Every option can also be set with XTCP_<OPTION_NAME>, e.g. XTCP_JITTER_PCT; flags win.");
        var rootOptions = AddOptions(_root, OptionCatalog.Collect);
        _root.SetAction(parse => Guard(() => CollectCommand.Run(Bind(parse, rootOptions), _stdout, _stderr)));

        var collect = new Command("collect", "Collect TCP sockets from every network namespace (the default command).");
        var collectOptions = AddOptions(collect, OptionCatalog.Collect);
        collect.SetAction(parse => Guard(() => CollectCommand.Run(Bind(parse, collectOptions), _stdout, _stderr)));
        _root.Add(collect);

        var replay = new Command("replay", "Decode netlink captures (pcap nlmon or raw datagrams) into records, through the same marshaller and destination as collect.");
        var files = new Argument<string[]>("FILE") { Arity = ArgumentArity.OneOrMore, Description = "Capture files." };
        replay.Add(files);
        var replayOptions = AddOptions(replay, OptionCatalog.Replay);
        replay.SetAction(parse => Guard(() =>
        {
            var source = new SettingSource(FlagValues(parse, replayOptions), _environment);
            var config = ConfigBinder.BindReplay(source, parse.GetValue(files) ?? []);
            return XtcpEpoll.Host.Replay.ReplayCommand.Run(config, _stdout, _stderr);
        }));
        _root.Add(replay);

        _root.Add(ControlCommands.Ctl(this));
        _root.Add(ControlCommands.Watch(this));

        var version = new Command("version", "Print the version and exit.");
        version.SetAction(_ =>
        {
            _stdout.WriteLine("xtcp-epoll " + HostVersion.Text);
            return ExitCodes.Ok;
        });
        _root.Add(version);
    }

    public int Invoke(string[] args)
    {
        var parse = _root.Parse(args);
        if (parse.Action is ParseErrorAction)
        {
            // One line, no help dump: the operator sees what to fix and where to look.
            var message = parse.Errors.Count > 0 ? parse.Errors[0].Message : "invalid command line";
            _stderr.WriteLine($"xtcp-epoll: {OneLine(message)} (see xtcp-epoll --help)");
            return ExitCodes.Usage;
        }
        return parse.Invoke(new InvocationConfiguration
        {
            Output = _stdout,
            Error = _stderr,
            EnableDefaultExceptionHandler = false,
            // Our own PosixSignalRegistration handles SIGTERM/SIGINT (graceful drain).
            ProcessTerminationTimeout = null,
        });
    }

    internal TextWriter Stdout => _stdout;
    internal TextWriter Stderr => _stderr;

    /// <summary>--control-socket / --grpc-listen / --grpc-tls-* of a client command (flags, then XTCP_* variables).</summary>
    internal ControlSettings BindClient(ParseResult parse, IReadOnlyDictionary<OptionSpec, Option> options)
        => ControlBinder.Bind(new SettingReader(new SettingSource(FlagValues(parse, options), _environment)));

    /// <summary>The client commands' options (the daemon's control-plane options, same names and variables).</summary>
    internal static Dictionary<OptionSpec, Option> AddClientOptions(Command command) => AddOptions(command, OptionCatalog.Client);

    internal int GuardCommand(Func<int> body) => Guard(body);

    private CollectConfig Bind(ParseResult parse, IReadOnlyDictionary<OptionSpec, Option> options)
        => ConfigBinder.BindCollect(new SettingSource(FlagValues(parse, options), _environment), HostVersion.Text);

    /// <summary>Runs a command body: configuration mistakes become one stderr line and exit code 2.</summary>
    private int Guard(Func<int> body)
    {
        try
        {
            return body();
        }
        catch (ConfigException e)
        {
            _stderr.WriteLine("xtcp-epoll: " + OneLine(e.Message));
            return ExitCodes.Usage;
        }
        catch (Exception e)
        {
            // Never a stack trace for the operator; XTCP_LOG_LEVEL=debug does not change this line.
            _stderr.WriteLine($"xtcp-epoll: fatal: {e.GetType().Name}: {OneLine(e.Message)}");
            return ExitCodes.Failure;
        }
    }

    private static Dictionary<OptionSpec, Option> AddOptions(Command command, IReadOnlyList<OptionSpec> specs)
    {
        var map = new Dictionary<OptionSpec, Option>();
        foreach (var spec in specs)
        {
            // Switches take an optional value ("--proc-scan" or "--proc-scan false") read as text, so a bad
            // value ("--proc-scan maybe") gets the same one-line error as every other option.
            Option option = spec.IsSwitch
                ? new Option<string>(spec.Flag)
                {
                    Description = $"{spec.Description} [env {spec.EnvironmentVariable}]",
                    Arity = ArgumentArity.ZeroOrOne,
                    HelpName = "true|false",
                }
                : spec.IsRepeatable
                ? new Option<string[]>(spec.Flag)
                {
                    Description = $"{spec.Description} [repeatable; env {spec.EnvironmentVariable}, items separated by '{OptionSpec.ItemSeparator}']",
                    HelpName = "value",
                    Arity = ArgumentArity.OneOrMore,
                    AllowMultipleArgumentsPerToken = false,
                }
                : new Option<string>(spec.Flag)
                {
                    Description = spec.ReplacedBy != null
                        ? $"{spec.Description} [env {spec.EnvironmentVariable}]"
                        : $"{spec.Description} [default \"{spec.DefaultText}\", env {spec.EnvironmentVariable}]",
                    HelpName = "value",
                };
            command.Add(option);
            map[spec] = option;
        }
        return map;
    }

    /// <summary>The texts of each option as given on the command line (one per occurrence), or null when not given.</summary>
    private static Func<OptionSpec, IReadOnlyList<string>?> FlagValues(ParseResult parse, IReadOnlyDictionary<OptionSpec, Option> options)
        => spec =>
        {
            if (!options.TryGetValue(spec, out var option)) return null;
            var result = parse.GetResult(option);
            if (result == null || result.Implicit) return null;
            if (spec.IsRepeatable) return parse.GetValue((Option<string[]>)option) ?? [];
            if (spec.IsSwitch && result.Tokens.Count == 0) return ["true"];
            return [parse.GetValue((Option<string>)option) ?? ""];
        };

    private static string OneLine(string text) => text.Replace('\r', ' ').Replace('\n', ' ').Trim();
}
