using Microsoft.Extensions.Logging;
using XtcpEpoll.Host.Adapters;
using XtcpEpoll.Host.Metrics;
using XtcpEpoll.Loop;
using XtcpEpoll.Sinks.Batching;
using XtcpEpoll.Sinks.Destinations;
using XtcpEpoll.Sinks.Options;
using XtcpEpoll.Sinks.Records;
using O = XtcpEpoll.Host.Cli.OptionCatalog;

namespace XtcpEpoll.Host.Config;

/// <summary>
/// Turns option text (flags, then XTCP_* environment, then defaults) into validated configuration.
/// Every check runs before anything starts; the first failure is a <see cref="ConfigException"/>.
/// <para>
/// The binder owns the SYNTAX of option text (durations, integers, names, lists) and the rules of
/// Host-only options (metrics, logging, shutdown). Every rule of a library option (ranges, names,
/// cross-option constraints) lives in that option's type, <see cref="CollectorOptions"/> or
/// <see cref="SinkOptions"/>: the binder checks single values against the ranges those types declare, so
/// the operator hears about a bad value in the order given, then runs the type's own Validate and phrases
/// its verdict for the flag or variable the value came from.
/// </para>
/// </summary>
public static class ConfigBinder
{
    public static CollectConfig BindCollect(SettingSource source, string daemonVersion)
    {
        var r = new SettingReader(source);
        var frequency = r.Duration(O.Frequency, DurationFloor.Positive);
        var timeout = r.Duration(O.Timeout, DurationFloor.Positive);
        if (r.IsDefault(O.Timeout))
        {
            timeout = CollectorOptions.DefaultTimeoutFor(frequency);
            r.Override(O.Timeout, GoDuration.Format(timeout));
        }
        var jitter = (int)r.Integer(O.JitterPct, CollectorOptions.JitterPctRange);
        var maxLoops = (int)r.Integer(O.MaxLoops, CollectorOptions.MaxLoopsRange);
        var sink = BindSink(r);
        var idiagExt = r.Parsed<byte>(O.Attributes, NetlinkBinding.TryParseAttributes);
        var states = r.Parsed<uint>(O.States, NetlinkBinding.TryParseStates);
        var netnsDirs = r.Parsed<string[]>(O.NetnsDirs, SplitList);
        var procScan = r.Switch(O.ProcScan);
        var reconcile = r.Duration(O.ReconcileInterval, CollectorOptions.ReconcileIntervalFloor);
        var workers = (int)r.Integer(O.Workers, CollectorOptions.WorkersRange);
        var gcAfterCloses = (int)r.Integer(O.GcAfterCloses, CollectorOptions.GcAfterClosesRange);
        var request = r.Choice(O.Request, O.RequestNames) == "v2" ? RequestMode.V2 : RequestMode.Compat;
        var spread = r.Switch(O.Spread);
        var walkInterval = ReadWalkInterval(r, out var deprecation);
        var emit = r.Choice(O.Emit, O.EmitNames) == "changed" ? EmitMode.Changed : EmitMode.All;
        var keyframeInterval = r.Duration(O.KeyframeInterval, DurationFloor.Positive);
        var destroyEvents = r.Switch(O.DestroyEvents);
        var containerAttribution = r.Switch(O.ContainerAttribution);
        var cgroupRoot = r.Parsed<string?>(O.CgroupRoot, TryParseCgroupRoot, static root => root ?? "auto");
        var cgroupRefresh = r.Duration(O.CgroupRefresh, CollectorOptions.CgroupRefreshFloor);
        var podLogsDir = r.Text(O.PodLogsDir);
        var containerLogsDir = r.Text(O.ContainerLogsDir);
        var stamp = BindStamp(r);
        var metrics = r.Parsed<System.Net.IPEndPoint?>(O.MetricsListen, ListenAddress.TryParse);
        var logLevel = ToLogLevel(r.Choice(O.LogLevel, O.LogLevelNames));
        var shutdown = r.Duration(O.ShutdownTimeout, DurationFloor.Positive);
        var print = r.Switch(O.PrintConfig);
        var control = ControlBinder.Bind(r, daemon: true);

        var collector = new CollectorOptions
        {
            Frequency = frequency,
            Timeout = timeout,
            JitterPct = jitter,
            MaxLoops = maxLoops,
            Workers = workers,
            GcAfterCloses = gcAfterCloses,
            NetnsDirs = netnsDirs,
            ProcScan = procScan,
            ReconcileInterval = reconcile,
            Request = request,
            Spread = spread,
            WalkInterval = walkInterval,
            Emit = emit,
            KeyframeInterval = keyframeInterval,
            DestroyEvents = destroyEvents,
            ContainerAttribution = containerAttribution,
            CgroupRoot = cgroupRoot,
            CgroupRefresh = cgroupRefresh,
            PodLogsDir = podLogsDir,
            ContainerLogsDir = containerLogsDir,
            States = states,
            IdiagExt = idiagExt,
            Hostname = stamp.Hostname,
            Label = stamp.Label,
            Tag = stamp.Tag,
            Location = stamp.Location,
            DaemonVersion = daemonVersion,
        };
        if (collector.Validate() is { } loopError) throw r.Reject(loopError, O.Collect);
        if (sink.Validate() is { } sinkError) throw r.Reject(sinkError, O.Collect);

        return new CollectConfig
        {
            Collector = collector,
            Output = new OutputSettings { Sink = sink, Stamp = stamp },
            MetricsListen = metrics,
            Control = control,
            LogLevel = logLevel,
            ShutdownTimeout = shutdown,
            PrintConfig = print,
            Effective = r.Effective,
            Warnings = [.. r.Warnings, .. deprecation, .. UnknownVariableWarnings(source)],
        };
    }

    /// <summary>
    /// --walk-interval, or its deprecated old name --shared-tables-refresh (accepted with a warning, so an
    /// environment file of the previous release keeps the daemon running; both set is a contradiction).
    /// </summary>
    private static TimeSpan ReadWalkInterval(SettingReader r, out List<string> warnings)
    {
        warnings = [];
        if (r.IsDefault(O.SharedTablesRefresh)) return r.Duration(O.WalkInterval, DurationFloor.NotNegative);
        if (!r.IsDefault(O.WalkInterval))
            throw r.Reject(O.SharedTablesRefresh, "it is the deprecated name of --walk-interval, which is set too; keep --walk-interval only");
        var value = r.Duration(O.SharedTablesRefresh, DurationFloor.NotNegative, recordAs: O.WalkInterval);
        warnings.Add($"{O.SharedTablesRefresh.Flag} ({O.SharedTablesRefresh.EnvironmentVariable}) is deprecated and will be removed: its value {GoDuration.Format(value)} is used as "
            + $"{O.WalkInterval.Flag} ({O.WalkInterval.EnvironmentVariable}), which spaces every full walk, not only the listening and bind tables': in namespaces that share the host's TCP table, "
            + "new connections now show at the namespace's next walk (closed ones as destroy events); rename the setting");
        return value;
    }

    /// <summary>
    /// XTCP_* variables that name no option of any command (a typo, or a removed option): warned about by every
    /// command. An option of the other command (XTCP_FREQUENCY from a daemon's environment file, seen by replay)
    /// is no mistake and is not warned about.
    /// </summary>
    private static List<string> UnknownVariableWarnings(SettingSource source)
    {
        var warnings = new List<string>();
        foreach (var name in source.UnknownEnvironmentVariables(EveryOption))
            warnings.Add($"environment variable {name} is not an xtcp-epoll option and is ignored (see xtcp-epoll --help)");
        return warnings;
    }

    private static readonly XtcpEpoll.Host.Cli.OptionSpec[] EveryOption = [.. O.Collect.Union(O.Replay)];

    public static ReplayConfig BindReplay(SettingSource source, IReadOnlyList<string> files)
    {
        var r = new SettingReader(source);
        var sink = BindSink(r);
        var stamp = BindStamp(r);
        var logLevel = ToLogLevel(r.Choice(O.LogLevel, O.LogLevelNames));
        var shutdown = r.Duration(O.ShutdownTimeout, DurationFloor.Positive);
        var print = r.Switch(O.PrintConfig);
        if (RecordStampRules.Check(stamp.Hostname, stamp.Label, stamp.Tag, stamp.Location) is { } stampError) throw r.Reject(stampError, O.Replay);
        if (sink.Validate() is { } sinkError) throw r.Reject(sinkError, O.Replay);
        if (files.Count == 0) throw new ConfigException("replay needs at least one FILE (a pcap capture or a raw netlink datagram file)");
        foreach (var file in files)
        {
            if (!File.Exists(file) && !Directory.Exists(file))
                throw new ConfigException($"replay FILE \"{file}\" does not exist (expected a pcap, a raw netlink datagram file or a directory of them)");
        }
        return new ReplayConfig
        {
            Files = files,
            Output = new OutputSettings { Sink = sink, Stamp = stamp },
            LogLevel = logLevel,
            ShutdownTimeout = shutdown,
            PrintConfig = print,
            Effective = r.Effective,
            Warnings = [.. r.Warnings, .. UnknownVariableWarnings(source)],
        };
    }

    private static SinkOptions BindSink(SettingReader r)
    {
        var destination = r.Parsed<DestinationSpec>(O.Dest, SinkBinding.TryParseDestination, static d => d.Text);
        var sink = new SinkOptions
        {
            Dest = destination.Text,
            FileAppend = r.Switch(O.FileAppend),
            Marshal = r.Choice(O.Marshal, SinkBinding.MarshalNames),
            Topic = r.Text(O.Topic),
            Columns = Nullable(r.Text(O.Columns)),
            EnvelopeFlushBytes = r.Integer(O.EnvelopeFlushBytes, SinkOptions.EnvelopeFlushBytesRange),
            EnvelopeFlushRows = (int)r.Integer(O.EnvelopeFlushRows, SinkOptions.EnvelopeFlushRowsRange),
            KafkaCompression = r.Choice(O.KafkaCompression, KafkaProducerSettings.Compressions),
            KafkaQueueMaxEnvelopes = (int)r.Integer(O.KafkaQueueMaxEnvelopes, SinkOptions.KafkaQueueMaxEnvelopesRange),
            KafkaQueueMaxBytes = r.Integer(O.KafkaQueueMaxBytes, SinkOptions.KafkaQueueMaxBytesRange),
            SinkQueueEnvelopes = (int)r.Integer(O.SinkQueueEnvelopes, SinkOptions.SinkQueueEnvelopesRange),
        };
        SecuredSinkBinder.Bind(r, sink, destination);
        return sink;
    }

    private static RecordStamp BindStamp(SettingReader r) => new()
    {
        Hostname = r.Parsed<string>(O.Hostname, TryParseHostname, static h => h),
        Label = r.Text(O.Label),
        Tag = r.Text(O.Tag),
        Location = r.Text(O.Location),
    };

    private static string? Nullable(string text) => string.IsNullOrWhiteSpace(text) ? null : text;

    /// <summary>A comma-separated list (entries trimmed, empty ones dropped); what the entries must be is the options type's rule.</summary>
    private static bool SplitList(string text, out string[] value, out string error)
    {
        value = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        error = "";
        return true;
    }

    /// <summary>"auto" (or empty) = null (found in mountinfo at start), "none", or a directory (which must be absolute: <see cref="CollectorOptions"/>' rule).</summary>
    private static bool TryParseCgroupRoot(string text, out string? value, out string error)
    {
        var trimmed = text.Trim();
        error = "";
        value = trimmed.Length == 0 || trimmed.Equals("auto", StringComparison.OrdinalIgnoreCase) ? null
            : trimmed.Equals("none", StringComparison.OrdinalIgnoreCase) ? "none" : trimmed;
        return true;
    }

    /// <summary>Empty means this machine's name (as xtcp2's os.Hostname fallback); the length rule is <see cref="RecordStampRules"/>'.</summary>
    private static bool TryParseHostname(string text, out string value, out string error)
    {
        value = text.Trim().Length == 0 ? Environment.MachineName : text.Trim();
        error = "";
        return true;
    }

    private static LogLevel ToLogLevel(string name) => name switch
    {
        "trace" => Microsoft.Extensions.Logging.LogLevel.Trace,
        "debug" => Microsoft.Extensions.Logging.LogLevel.Debug,
        "warn" => Microsoft.Extensions.Logging.LogLevel.Warning,
        "error" => Microsoft.Extensions.Logging.LogLevel.Error,
        _ => Microsoft.Extensions.Logging.LogLevel.Information,
    };
}
