using Microsoft.Extensions.Logging;
using XtcpEpoll.Host.Adapters;
using XtcpEpoll.Host.Cli;
using XtcpEpoll.Host.Config;
using XtcpEpoll.Host.Control;
using XtcpEpoll.Sinks.Options;
using XtcpEpoll.Host.Logging;
using XtcpEpoll.Host.Metrics;
using XtcpEpoll.Loop;
using XtcpEpoll.Sinks.Batching;

namespace XtcpEpoll.Host.Lifecycle;

/// <summary>
/// `collect`: check privileges, build the sink and the collector, serve metrics, poll until MaxLoops or a
/// stop signal, then drain: the running poll finishes (bounded by --timeout), the envelope and the sink
/// are flushed (bounded by --shutdown-timeout), every namespace socket is closed, exit 0.
/// </summary>
public static class CollectCommand
{
    /// <summary>Extra wait beyond --timeout for the loop to report the last poll's end.</summary>
    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(2);

    public static int Run(CollectConfig config, TextWriter stdout, TextWriter stderr)
    {
        if (config.PrintConfig)
        {
            ConfigPrinter.Print(config.Effective, config.Warnings, stdout, stderr);
            return ExitCodes.Ok;
        }

        HostMetrics.Initialize();
        using var loggers = HostLogging.Create(config.LogLevel);
        var log = loggers.CreateLogger("xtcp-epoll");
        var options = config.Collector;
        foreach (var warning in config.Warnings)
            log.LogWarning("{Warning}", warning);
        foreach (var warning in PrivilegePlan.Apply(Capabilities.ReadSelf(), options))
            log.LogWarning("{Warning}", warning);

        IRecordSink sink = SinkBinding.CreateSink(config.Output, loggers);
        // With the control plane on, records also feed stream clients (FlatRecords, PollFlatRecords).
        var tap = config.Control.Enabled ? new RecordTap(sink) : null;
        if (tap != null) sink = tap;

        var health = new HealthState();
        MetricsEndpoint? metrics = null;
        if (config.MetricsListen != null)
        {
            try
            {
                metrics = MetricsEndpoint.Start(config.MetricsListen, health, loggers.CreateLogger("xtcp-epoll.metrics"));
            }
            catch (IOException e)
            {
                stderr.WriteLine($"xtcp-epoll: cannot listen on --metrics-listen {config.MetricsListen}: {e.Message}");
                Drain(sink, config.ShutdownTimeout, log);
                return ExitCodes.Failure;
            }
            log.LogInformation("metrics on http://{Endpoint}/metrics (/healthz, /readyz)", metrics.LocalEndPoint);
        }

        using var signals = new ShutdownSignals();
        if (ShutdownSignals.InheritedIgnoredSigInt)
            log.LogInformation("SIGINT was inherited as ignored (started as a background job): it stops the daemon like SIGTERM");
        if (!signals.SigIntHandled)
            log.LogWarning("no SIGINT handler could be installed: stop the daemon with SIGTERM (SIGINT would end it without draining)");
        using var collector = new Collector(options, sink, loggers.CreateLogger("xtcp-epoll.loop"));
        var sinkHealth = new SinkHealth();
        health.SetReadinessProbe(() => collector.FirstPollCompleted && sinkHealth.IsHealthy);
        // A namespace whose dump did not finish by --timeout has partial or no records in that poll; say which poll.
        collector.PollCompleted += poll =>
        {
            if (poll.TimedOut)
                log.LogWarning("poll {TimestampNs} timed out (--timeout {Timeout}): dumps unfinished by then are partial or absent in it ({Sockets} sockets from {Namespaces} namespaces); see xtcp_namespace_dump_timeouts_total",
                    poll.TimestampNs, GoDuration.Format(options.Timeout), poll.Sockets, poll.Namespaces);
            else if (poll.WalksDeferred > 0)
                log.LogInformation("poll {TimestampNs} deferred the walks of {Deferred} namespaces to later polls (their walks would not fit --timeout {Timeout}): their known sockets are in it, sockets they never walked are not yet; see xtcp_walk_deferrals_total",
                    poll.TimestampNs, poll.WalksDeferred, GoDuration.Format(options.Timeout));
        };
        ControlServer? control = null;
        if (tap != null)
        {
            try
            {
                control = ControlServer.Start(config.Control, new ControlPlane(collector, tap, config, config.Control.TcpEndpoint?.Port),
                    loggers.CreateLogger("xtcp-epoll.control"));
            }
            catch (ConfigException e)
            {
                stderr.WriteLine("xtcp-epoll: " + e.Message);
                Drain(sink, config.ShutdownTimeout, log);
                metrics?.Dispose();
                return ExitCodes.Usage;
            }
        }
        var exitCode = ExitCodes.Ok;
        try
        {
            log.LogInformation(
                "starting {Version}: frequency {Frequency}, timeout {Timeout}, workers {Workers}, request {Request}, netns dirs [{Dirs}], proc-scan {ProcScan}, dest {Dest}, marshal {Marshal}",
                HostVersion.Text, GoDuration.Format(options.Frequency), GoDuration.Format(options.Timeout), options.Workers,
                options.Request, string.Join(",", options.NetnsDirs), options.ProcScan, config.Output.Sink.Dest, config.Output.Sink.Marshal);
            collector.Start();

            // With the control plane on, this thread serves its socket meanwhile (its I/O needs no thread of its own).
            control?.ServeUntil(Task.WhenAny(collector.Completion, signals.Received));
            var first = Task.WaitAny(collector.Completion, signals.Received);
            if (first == 1)
            {
                log.LogInformation("{Signal} received: finishing the current poll, then flushing", signals.Received.Result);
                collector.RequestStop();
                if (!ControlServer.WaitServing(control, collector.Completion, options.Timeout + StopGrace))
                    log.LogWarning("the running poll did not end within --timeout {Timeout}: flushing what was collected", GoDuration.Format(options.Timeout));
            }
            exitCode = ReportCompletion(collector.Completion, log);
        }
        catch (Exception e) when (e is not ConfigException)
        {
            log.LogError("collector failed: {Error}", e.Message);
            exitCode = ExitCodes.Failure;
        }
        finally
        {
            control?.Dispose(); // streams end first: the sink's drain is not held up by a client
            Drain(sink, config.ShutdownTimeout, log);
            metrics?.Dispose();
        }
        log.LogInformation("stopped after {Polls} polls (exit {ExitCode})", collector.PollsCompleted, exitCode);
        return exitCode;
    }

    private static int ReportCompletion(Task completion, ILogger log)
    {
        if (!completion.IsFaulted) return ExitCodes.Ok;
        log.LogError("collection loop failed: {Error}", completion.Exception?.GetBaseException().Message);
        return ExitCodes.Failure;
    }

    /// <summary>Flush the envelope and the destination, bounded by --shutdown-timeout.</summary>
    private static void Drain(IRecordSink sink, TimeSpan timeout, ILogger log)
    {
        try
        {
            if (!sink.ShutdownAsync(timeout).Wait(timeout + StopGrace))
                log.LogWarning("sink did not drain within --shutdown-timeout {Timeout}", GoDuration.Format(timeout));
        }
        catch (Exception e)
        {
            log.LogError("sink shutdown failed: {Error}", e.GetBaseException().Message);
        }
        (sink as IDisposable)?.Dispose();
    }
}
