using Microsoft.Extensions.Logging;
using XtcpEpoll.Host.Adapters;
using XtcpEpoll.Host.Metrics;
using XtcpEpoll.Loop;
using O = XtcpEpoll.Host.Cli.OptionCatalog;

namespace XtcpEpoll.Host.Config;

/// <summary>
/// Turns option text (flags, then XTCP_* environment, then defaults) into validated configuration.
/// Every check runs before anything starts; the first failure is a <see cref="ConfigException"/>.
/// </summary>
public static class ConfigBinder
{
        public static readonly IReadOnlyList<string> CompressionNames = ["zstd", "lz4", "snappy", "gzip", "none"];
    public static readonly IReadOnlyList<string> LogLevelNames = ["trace", "debug", "info", "warn", "error"];
    public static readonly IReadOnlyList<string> RequestNames = ["compat", "v2"];

    public static CollectConfig BindCollect(SettingSource source, string daemonVersion)
    {
        var r = new SettingReader(source);
        var frequency = r.Duration(O.Frequency, TimeSpan.FromMilliseconds(1));
        var timeout = r.Duration(O.Timeout, TimeSpan.FromMilliseconds(1));
        if (timeout >= frequency && r.IsDefault(O.Timeout))
        {
            // "--frequency 1s" alone must work: the 5s default deadline shrinks to half the period.
            timeout = frequency / 2;
            r.Override(O.Timeout, GoDuration.Format(timeout));
        }
        if (timeout >= frequency)
            throw r.Reject(O.Timeout, $"must be below --frequency ({GoDuration.Format(frequency)})");
        var jitter = (int)r.Integer(O.JitterPct, 0, 90);
        var maxLoops = (int)r.Integer(O.MaxLoops, 0, int.MaxValue);
        var output = BindOutput(r, includeDest: true);
        var idiagExt = r.Parsed<byte>(O.Attributes, NetlinkBinding.TryParseAttributes);
        var states = r.Parsed<uint>(O.States, NetlinkBinding.TryParseStates);
        var netnsDirs = r.Parsed<string[]>(O.NetnsDirs, TryParseDirectoryList);
        var procScan = r.Switch(O.ProcScan);
        var reconcile = r.Duration(O.ReconcileInterval, TimeSpan.FromMilliseconds(100));
        var workers = (int)r.Integer(O.Workers, 1, 64);
        var request = r.Choice(O.Request, RequestNames) == "v2" ? RequestMode.V2 : RequestMode.Compat;
        var spread = r.Switch(O.Spread);
        var walkInterval = ReadWalkInterval(r, out var deprecation);
        var destroyEvents = r.Switch(O.DestroyEvents);
        var containerAttribution = r.Switch(O.ContainerAttribution);
        var cgroupRoot = r.Parsed<string?>(O.CgroupRoot, TryParseCgroupRoot, static root => root ?? "auto");
        var cgroupRefresh = r.Duration(O.CgroupRefresh, TimeSpan.FromMilliseconds(100));
        var metrics = r.Parsed<System.Net.IPEndPoint?>(O.MetricsListen, ListenAddress.TryParse);
        var logLevel = ToLogLevel(r.Choice(O.LogLevel, LogLevelNames));
        var shutdown = r.Duration(O.ShutdownTimeout, TimeSpan.FromMilliseconds(1));
        var print = r.Switch(O.PrintConfig);

        var collector = new CollectorOptions
        {
            Frequency = frequency,
            Timeout = timeout,
            JitterPct = jitter,
            MaxLoops = maxLoops,
            Workers = workers,
            NetnsDirs = netnsDirs,
            ProcScan = procScan,
            ReconcileInterval = reconcile,
            Request = request,
            Spread = spread,
            WalkInterval = walkInterval,
            DestroyEvents = destroyEvents,
            ContainerAttribution = containerAttribution,
            CgroupRoot = cgroupRoot,
            CgroupRefresh = cgroupRefresh,
            States = states,
            IdiagExt = idiagExt,
            Hostname = output.Hostname,
            Label = output.Label,
            Tag = output.Tag,
            Location = output.Location,
            DaemonVersion = daemonVersion,
        };
        // The loop's own rules (kept in one place, CollectorOptions) as a last net: phrased by the loop.
        var loopError = collector.Validate();
        if (loopError != null) throw new ConfigException("invalid configuration: " + loopError);

        return new CollectConfig
        {
            Collector = collector,
            Output = output,
            MetricsListen = metrics,
            LogLevel = logLevel,
            ShutdownTimeout = shutdown,
            PrintConfig = print,
            Effective = r.Effective,
            Warnings = [.. deprecation, .. UnknownVariableWarnings(source)],
        };
    }

    /// <summary>
    /// --walk-interval, or its deprecated old name --shared-tables-refresh (accepted with a warning, so an
    /// environment file of the previous release keeps the daemon running; both set is a contradiction).
    /// </summary>
    private static TimeSpan ReadWalkInterval(SettingReader r, out List<string> warnings)
    {
        warnings = [];
        if (r.IsDefault(O.SharedTablesRefresh)) return r.Duration(O.WalkInterval, TimeSpan.Zero);
        if (!r.IsDefault(O.WalkInterval))
            throw r.Reject(O.SharedTablesRefresh, "it is the deprecated name of --walk-interval, which is set too; keep --walk-interval only");
        var value = r.Duration(O.SharedTablesRefresh, TimeSpan.Zero, recordAs: O.WalkInterval);
        warnings.Add($"{O.SharedTablesRefresh.Flag} ({O.SharedTablesRefresh.EnvironmentVariable}) is deprecated and will be removed: its value {GoDuration.Format(value)} is used as "
            + $"{O.WalkInterval.Flag} ({O.WalkInterval.EnvironmentVariable}), which spaces every full walk, not only the listening and bind tables': in namespaces that share the host's TCP table, "
            + "new connections now show at the namespace's next walk (closed ones as destroy events); rename the setting");
        return value;
    }

    private static List<string> UnknownVariableWarnings(SettingSource source)
    {
        var warnings = new List<string>();
        foreach (var name in source.UnknownEnvironmentVariables(Cli.OptionCatalog.Collect))
            warnings.Add($"environment variable {name} is not an xtcp-epoll option and is ignored (see xtcp-epoll --help)");
        return warnings;
    }

    public static ReplayConfig BindReplay(SettingSource source, IReadOnlyList<string> files)
    {
        var r = new SettingReader(source);
        var output = BindOutput(r, includeDest: true);
        var logLevel = ToLogLevel(r.Choice(O.LogLevel, LogLevelNames));
        var shutdown = r.Duration(O.ShutdownTimeout, TimeSpan.FromMilliseconds(1));
        var print = r.Switch(O.PrintConfig);
        if (files.Count == 0) throw new ConfigException("replay needs at least one FILE (a pcap capture or a raw netlink datagram file)");
        foreach (var file in files)
        {
            if (!File.Exists(file) && !Directory.Exists(file))
                throw new ConfigException($"replay FILE \"{file}\" does not exist (expected a pcap, a raw netlink datagram file or a directory of them)");
        }
        return new ReplayConfig
        {
            Files = files,
            Output = output,
            LogLevel = logLevel,
            ShutdownTimeout = shutdown,
            PrintConfig = print,
            Effective = r.Effective,
        };
    }

    private static OutputSettings BindOutput(SettingReader r, bool includeDest)
    {
        var dest = includeDest ? r.Parsed<string>(O.Dest, SinkBinding.TryValidateDestination) : "stdout";
        var fileAppend = r.Switch(O.FileAppend);
        var marshal = r.Choice(O.Marshal, SinkBinding.MarshalNames);
        var topic = r.Text(O.Topic, 249);
        if (topic.Length == 0) throw r.Reject(O.Topic, "must not be empty (1-249 characters)");
        var columns = r.Text(O.Columns, 10_000);
        if (!SinkBinding.TryValidateColumns(marshal, columns, out var columnsError)) throw r.Reject(O.Columns, columnsError);
        var flushBytes = r.Integer(O.EnvelopeFlushBytes, 1024, 1L << 30);
        var flushRows = (int)r.Integer(O.EnvelopeFlushRows, 1, 10_000_000);
        var compression = r.Choice(O.KafkaCompression, CompressionNames);
        var queueMax = (int)r.Integer(O.KafkaQueueMaxEnvelopes, 1, 1_000_000);
        var queueBytes = r.Integer(O.KafkaQueueMaxBytes, 1024, 1L << 40);
        if (queueBytes < flushBytes) throw r.Reject(O.KafkaQueueMaxBytes, $"must be at least --envelope-flush-bytes ({flushBytes})");
        var sinkQueue = (int)r.Integer(O.SinkQueueEnvelopes, 1, 1024);
        var hostname = r.Parsed<string>(O.Hostname, TryParseHostname, static h => h);
        var label = r.Text(O.Label, 40);
        var tag = r.Text(O.Tag, 40);
        var location = r.Text(O.Location, 253);
        return new OutputSettings
        {
            Dest = dest,
            FileAppend = fileAppend,
            Marshal = marshal,
            Topic = topic,
            Columns = columns,
            EnvelopeFlushBytes = flushBytes,
            EnvelopeFlushRows = flushRows,
            KafkaCompression = compression,
            KafkaQueueMaxEnvelopes = queueMax,
            KafkaQueueMaxBytes = queueBytes,
            SinkQueueEnvelopes = sinkQueue,
            Hostname = hostname,
            Label = label,
            Tag = tag,
            Location = location,
        };
    }

    private static bool TryParseDirectoryList(string text, out string[] value, out string error)
    {
        value = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        foreach (var dir in value)
        {
            if (!Path.IsPathRooted(dir))
            {
                error = $"\"{dir}\" is not an absolute path (comma-separated absolute directories, may be empty)";
                return false;
            }
        }
        error = "";
        return true;
    }

    /// <summary>"auto" (or empty) = null (found in mountinfo at start), "none", or an absolute directory.</summary>
    private static bool TryParseCgroupRoot(string text, out string? value, out string error)
    {
        var trimmed = text.Trim();
        error = "";
        value = null;
        if (trimmed.Length == 0 || trimmed.Equals("auto", StringComparison.OrdinalIgnoreCase)) return true;
        if (trimmed.Equals("none", StringComparison.OrdinalIgnoreCase))
        {
            value = "none";
            return true;
        }
        if (!Path.IsPathRooted(trimmed))
        {
            error = "must be auto, none or an absolute directory (where cgroup2 is mounted)";
            return false;
        }
        value = trimmed;
        return true;
    }

    /// <summary>Empty means this machine's name (as xtcp2's os.Hostname fallback).</summary>
    private static bool TryParseHostname(string text, out string value, out string error)
    {
        value = text.Trim().Length == 0 ? Environment.MachineName : text.Trim();
        error = value.Length > 253 || value.AsSpan().IndexOfAny('\n', '\r') >= 0 ? "must be one line of at most 253 characters" : "";
        return error.Length == 0;
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
