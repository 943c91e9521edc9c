using Xunit;
using Xunit.Abstractions;

namespace XtcpEpoll.Tests.Host;

/// <summary>The real xtcp-epoll process: metrics during a run, SIGTERM draining, CLI errors.</summary>
public class DaemonLifecycleTests(ITestOutputHelper log)
{
    private const int Listeners = 4;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public void Metrics_move_during_a_real_collection()
    {
        using var namespaces = new TestNamespaces("host-metrics");
        namespaces.Add(Listeners);
        namespaces.Add(Listeners);
        using var daemon = DaemonProcess.Start("collect", "--dest", "null", "--frequency", "1s", "--timeout", "500ms",
            "--netns-dirs", namespaces.Directory.FullName, "--metrics-listen", "127.0.0.1:0", "--log-level", "debug");
        var port = daemon.WaitForMetricsPort(Patience);

        Assert.Equal((200, "ok\n"), HttpGet.Get(port, "/healthz"));
        string metrics = "";
        daemon.WaitUntil(() =>
        {
            metrics = HttpGet.Get(port, "/metrics").Body;
            // Records are counted by the sink thread when it marshals a flushed envelope, which may trail the
            // poll's end under load: wait for both.
            return HttpGet.MetricSum(metrics, "xtcp_polls_total") >= 2
                && HttpGet.Metric(metrics, "xtcp_records_emitted_total") >= 2 * 2 * TestNamespaces.SocketsPerNamespace(Listeners);
        }, Patience, "two polls and their records");

        // The two namespaces the test created + the daemon's own (host) namespace.
        Assert.Equal(3, HttpGet.Metric(metrics, "xtcp_namespaces_open"));
        var emitted = HttpGet.Metric(metrics, "xtcp_records_emitted_total") ?? 0;
        Assert.True(HttpGet.Metric(metrics, "xtcp_os_threads") is > 0 and <= 24, "thread budget: " + HttpGet.Metric(metrics, "xtcp_os_threads"));
        Assert.True(HttpGet.Metric(metrics, "xtcp_open_fds") > 0);
        Assert.True(HttpGet.Metric(metrics, "xtcp_resident_memory_bytes") > 0);
        Assert.Equal(200, HttpGet.Get(port, "/readyz").Status);
        // The metrics endpoint is one thread and does not start .NET's socket engine thread.
        var threadNames = ThreadIds.Of(daemon.Pid).Values;
        Assert.Single(threadNames, n => n == "xtcp-metrics");
        Assert.DoesNotContain(threadNames, n => n.StartsWith(".NET Sockets", StringComparison.Ordinal));

        // Records keep moving poll after poll.
        daemon.WaitUntil(() => HttpGet.Metric(HttpGet.Get(port, "/metrics").Body, "xtcp_records_emitted_total") > emitted, Patience, "more records");

        daemon.Signal(NativeTest.SIGTERM);
        Assert.Equal(0, daemon.WaitForExit(Patience));
    }

    [Fact]
    public async Task Readyz_is_503_while_the_sink_fails_and_200_once_it_delivers()
    {
        var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        probe.Start();
        var sinkPort = ((System.Net.IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop(); // nobody listens there now: every send fails
        using var daemon = DaemonProcess.Start("collect", "--dest", $"tcp:127.0.0.1:{sinkPort}", "--frequency", "1s",
            "--netns-dirs", "", "--metrics-listen", "127.0.0.1:0");
        var port = daemon.WaitForMetricsPort(Patience);
        daemon.WaitUntil(() => HttpGet.MetricSum(HttpGet.Get(port, "/metrics").Body, "xtcp_sink_errors_total") >= 2, Patience, "failed sends");

        Assert.True(HttpGet.MetricSum(HttpGet.Get(port, "/metrics").Body, "xtcp_polls_total") >= 1);
        Assert.Equal(503, HttpGet.Get(port, "/readyz").Status);

        var sink = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, sinkPort);
        sink.Start();
        using var stop = new CancellationTokenSource();
        var drain = Task.Run(async () =>
        {
            using var client = await sink.AcceptTcpClientAsync(stop.Token);
            var buffer = new byte[65536];
            var stream = client.GetStream();
            while (await stream.ReadAsync(buffer, stop.Token) > 0) { }
        });
        try
        {
            daemon.WaitUntil(() => HttpGet.Get(port, "/readyz").Status == 200, Patience, "readiness after the sink recovered");
        }
        finally
        {
            daemon.Signal(NativeTest.SIGTERM);
            Assert.Equal(0, daemon.WaitForExit(Patience));
            stop.Cancel();
            sink.Stop();
            // The drain ends by cancellation or by the daemon closing the connection; either is fine here.
            try { await drain.WaitAsync(TimeSpan.FromSeconds(5)); } catch (Exception e) when (e is OperationCanceledException or IOException or System.Net.Sockets.SocketException or TimeoutException) { }
        }
    }

    [Fact]
    public void Fifty_stalled_connections_leave_the_daemon_answering_on_the_same_threads()
    {
        using var daemon = DaemonProcess.Start("collect", "--dest", "null", "--frequency", "1s", "--netns-dirs", "",
            "--metrics-listen", "127.0.0.1:0");
        var port = daemon.WaitForMetricsPort(Patience);
        daemon.WaitUntil(() => HttpGet.Get(port, "/readyz").Status == 200, Patience, "the first poll");
        var threadsBefore = ThreadIds.Of(daemon.Pid);

        using var stalled = StalledClients.Open(port, silent: 20, partial: 20, unread: 10);
        // Silent and partial ones are held until their request deadline (5 s); the unread ones' responses
        // (~10 KB) fit the socket buffers, so the daemon is done with them. +1: the scrape that reads the gauge.
        string metrics = "";
        daemon.WaitUntil(() => HttpGet.Metric(metrics = HttpGet.Get(port, "/metrics").Body, "xtcp_metrics_connections_open") == 41,
            Patience, "40 stalled connections held");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var readyz = HttpGet.Get(port, "/readyz");
        var readyzMs = clock.Elapsed.TotalMilliseconds;
        var threadsUnderStall = ThreadIds.Of(daemon.Pid);
        log.WriteLine($"daemon under 40 held + 10 unread connections: /readyz {readyzMs:F1} ms; threads {threadsBefore.Count} before, {threadsUnderStall.Count} under the stall");

        Assert.Equal((200, "ready\n"), readyz);
        Assert.Equal(threadsBefore.Count, threadsUnderStall.Count);
        Assert.Empty(ThreadIds.Added(threadsBefore, threadsUnderStall));

        foreach (var socket in stalled.Silent.Concat(stalled.Partial))
            Assert.StartsWith("HTTP/1.1 408 ", StalledClients.ReadUntilClosed(socket));
        foreach (var socket in stalled.Unread)
            Assert.StartsWith("HTTP/1.1 200 ", StalledClients.ReadUntilClosed(socket));
        metrics = HttpGet.Get(port, "/metrics").Body;
        Assert.Equal(40, HttpGet.MetricSum(metrics, "xtcp_metrics_connections_timed_out_total"));
        Assert.Equal(1, HttpGet.Metric(metrics, "xtcp_metrics_connections_open"));
        Assert.Empty(ThreadIds.Added(threadsBefore, ThreadIds.Of(daemon.Pid)));

        daemon.Signal(NativeTest.SIGTERM);
        Assert.Equal(0, daemon.WaitForExit(Patience));
    }

    /// <summary>
    /// SIGTERM and SIGINT drain. The last case starts the daemon the way a shell starts a background job
    /// (`xtcp-epoll &amp;`: SIGINT inherited as ignored), where .NET alone never delivers SIGINT.
    /// </summary>
    [Theory]
    [InlineData(NativeTest.SIGTERM, "SIGTERM", false)]
    [InlineData(NativeTest.SIGINT, "SIGINT", false)]
    [InlineData(NativeTest.SIGINT, "SIGINT", true)]
    public void Stop_signal_mid_run_delivers_every_record_of_every_started_poll_and_exits_0(int signal, string signalName, bool sigIntIgnoredAtStart)
    {
        using var namespaces = new TestNamespaces("host-term");
        var name = namespaces.Add(Listeners);
        var output = Path.Combine(Path.GetTempPath(), $"xt-host-term-{Guid.NewGuid():N}.jsonl");
        try
        {
            string[] args = ["collect", "--dest", "file:" + output, "--marshal", "jsonl",
                "--frequency", "1s", "--timeout", "500ms", "--netns-dirs", namespaces.Directory.FullName,
                "--metrics-listen", "127.0.0.1:0"];
            using var daemon = sigIntIgnoredAtStart ? DaemonProcess.StartWithSigIntIgnored(args) : DaemonProcess.Start(args);
            var port = daemon.WaitForMetricsPort(Patience);
            daemon.WaitUntil(() => HttpGet.MetricSum(HttpGet.Get(port, "/metrics").Body, "xtcp_polls_total") >= 2, Patience, "two polls");

            daemon.Signal(signal);
            int exit = daemon.WaitForExit(Patience);
            Assert.True(exit == 0, $"exit {exit} after {signalName}; stderr:\n{daemon.Stderr}");

            var ours = JsonlRecords.Parse(File.ReadLines(output)).FindAll(r => r.Netns == name);
            var perPoll = new Dictionary<long, int>();
            foreach (var row in ours) perPoll[row.TimestampNs] = perPoll.GetValueOrDefault(row.TimestampNs) + 1;
            Assert.True(perPoll.Count >= 2, $"expected >= 2 polls of {name} in the file, got {perPoll.Count}");
            // Nothing of any poll is missing: not the ones before the signal, not the one it interrupted.
            Assert.All(perPoll.Values, count => Assert.Equal(TestNamespaces.SocketsPerNamespace(Listeners), count));
            Assert.Contains(signalName + " received", daemon.Stderr);
            if (sigIntIgnoredAtStart) Assert.Contains("SIGINT was inherited as ignored", daemon.Stderr);
            Assert.DoesNotContain("no SIGINT handler", daemon.Stderr);
        }
        finally
        {
            File.Delete(output);
        }
    }

    [Fact]
    public void Max_loops_collects_the_namespace_sockets_and_exits_0()
    {
        using var namespaces = new TestNamespaces("host-once");
        var name = namespaces.Add(Listeners);
        using var daemon = DaemonProcess.Start("collect", "--dest", "stdout", "--marshal", "jsonl", "--frequency", "1s",
            "--max-loops", "1", "--netns-dirs", namespaces.Directory.FullName, "--metrics-listen", "");

        Assert.Equal(0, daemon.WaitForExit(Patience));
        var ours = JsonlRecords.Parse(daemon.StdoutLines).FindAll(r => r.Netns == name);
        Assert.Equal(TestNamespaces.SocketsPerNamespace(Listeners), ours.Count);
        foreach (var port in namespaces.ListenerPorts[name])
            Assert.Contains(ours, r => r.SourcePort == port && r.State == 10); // TCP_LISTEN
    }

    [Fact]
    public void Real_process_reads_xtcp_environment_variables_and_flags_win()
    {
        var psi = DaemonProcess.StartInfo("--print-config", "--label", "from-flag");
        psi.Environment["XTCP_FREQUENCY"] = "42s";
        psi.Environment["XTCP_LABEL"] = "from-env";
        using var daemon = DaemonProcess.Start(psi);

        Assert.Equal(0, daemon.WaitForExit(Patience));
        Assert.Contains("frequency: 42s", daemon.StdoutLines);
        Assert.Contains("label: from-flag", daemon.StdoutLines);
    }

    [Fact]
    public void A_misspelt_xtcp_variable_is_warned_about_and_ignored()
    {
        var psi = DaemonProcess.StartInfo("collect", "--dest", "null", "--frequency", "1s", "--max-loops", "1", "--netns-dirs", "", "--metrics-listen", "");
        psi.Environment["XTCP_FREQENCY"] = "30s";
        using var daemon = DaemonProcess.Start(psi);

        Assert.Equal(0, daemon.WaitForExit(Patience));
        Assert.Contains("XTCP_FREQENCY is not an xtcp-epoll option", daemon.Stderr);
    }

    [Fact]
    public void Real_process_names_a_bad_environment_variable()
    {
        var psi = DaemonProcess.StartInfo();
        psi.Environment["XTCP_WORKERS"] = "100";
        using var daemon = DaemonProcess.Start(psi);

        Assert.Equal(2, daemon.WaitForExit(Patience));
        Assert.Contains("XTCP_WORKERS (--workers)", Assert.Single(daemon.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
    }

    [Fact]
    public void A_taken_metrics_port_fails_with_one_line_and_exit_1()
    {
        using var holder = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        holder.Start();
        var taken = ((System.Net.IPEndPoint)holder.LocalEndpoint).Port;
        using var daemon = DaemonProcess.Start("collect", "--dest", "null", "--metrics-listen", $"127.0.0.1:{taken}", "--log-level", "error");

        Assert.Equal(1, daemon.WaitForExit(Patience));
        Assert.Contains($"--metrics-listen 127.0.0.1:{taken}", Assert.Single(daemon.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
    }

    [Theory]
    [InlineData("--frequency", "0s")]
    [InlineData("--bogus-option")]
    [InlineData("replay", "/nonexistent.pcap")]
    public void Real_process_reports_bad_input_in_one_line_with_exit_2(params string[] args)
    {
        using var daemon = DaemonProcess.Start(args);

        Assert.Equal(2, daemon.WaitForExit(Patience));
        var line = Assert.Single(daemon.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("xtcp-epoll: ", line);
        Assert.Empty(daemon.StdoutLines);
    }
}
