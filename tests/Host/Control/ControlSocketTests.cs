using System.Text.Json;
using Xunit;

namespace XtcpEpoll.Tests.Host.Control;

/// <summary>The control socket's file, its absence, its single owner; `watch` and `ctl` against it.</summary>
public class ControlSocketTests
{
    [Fact]
    public void The_socket_is_0660_and_a_second_daemon_on_it_exits_2_with_a_clear_error()
    {
        using var daemon = new ControlDaemon("--dest", "null", "--frequency", "10m", "--timeout", "500ms", "--netns-dirs", "");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite, File.GetUnixFileMode(daemon.SocketPath));

        using var second = DaemonProcess.Start("collect", "--dest", "null", "--netns-dirs", "", "--metrics-listen", "", "--control-socket", daemon.SocketPath);
        Assert.Equal(2, second.WaitForExit(ControlDaemon.Patience));
        Assert.Contains($"another xtcp-epoll is serving it", second.Stderr);
        Assert.True(File.Exists(daemon.SocketPath), "the first daemon's socket was left alone");

        daemon.Process.Signal(NativeTest.SIGTERM);
        Assert.Equal(0, daemon.Process.WaitForExit(ControlDaemon.Patience));
        Assert.False(File.Exists(daemon.SocketPath), "the socket is removed at exit");
    }

    [Fact]
    public void An_empty_control_socket_starts_no_server()
    {
        using var daemon = DaemonProcess.Start("collect", "--dest", "null", "--frequency", "1s", "--netns-dirs", "", "--metrics-listen", "127.0.0.1:0", "--control-socket", "");
        var port = daemon.WaitForMetricsPort(ControlDaemon.Patience);
        daemon.WaitUntil(() => HttpGet.MetricSum(HttpGet.Get(port, "/metrics").Body, "xtcp_polls_total") >= 1, ControlDaemon.Patience, "a poll");
        var threads = ThreadIds.Of(daemon.Pid).Values;
        Assert.DoesNotContain(threads, n => n.StartsWith("Kestrel", StringComparison.Ordinal));
        Assert.DoesNotContain(threads, n => n.StartsWith(".NET Sockets", StringComparison.Ordinal));
        // No unix socket with a path is open in the daemon but the runtime's diagnostics one (/proc/net/unix rows of its socket inodes).
        var inodes = Directory.EnumerateFiles($"/proc/{daemon.Pid}/fd").Select(fd => new FileInfo(fd).LinkTarget ?? "")
            .Where(t => t.StartsWith("socket:[", StringComparison.Ordinal)).Select(t => t[8..^1]).ToHashSet();
        var named = File.ReadLines("/proc/net/unix").Skip(1).Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(f => f.Length >= 8 && inodes.Contains(f[6]) && !f[7].Contains("dotnet-diagnostic", StringComparison.Ordinal)).Select(f => f[7]).ToList();
        Assert.Empty(named);
    }

    [Fact]
    public void Watch_with_netns_and_port_prints_exactly_that_namespaces_matching_sockets()
    {
        using var namespaces = new TestNamespaces("watch");
        var name = namespaces.Add(2);
        var other = namespaces.Add(2);
        using var daemon = new ControlDaemon("--dest", "null", "--frequency", "10m", "--timeout", "500ms", "--netns-dirs", namespaces.Directory.FullName);
        var port = namespaces.ListenerPorts[name][0];

        var result = CliRunner.Run("watch", "--poll", "--count", "1", "--netns", name, "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--json", "--control-socket", daemon.SocketPath);

        Assert.True(result.ExitCode == 0, result.Stderr);
        var lines = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        // The listener, the client connected to it and the accepted connection.
        Assert.Equal(3, lines.Length);
        foreach (var line in lines)
        {
            using var doc = JsonDocument.Parse(line);
            var root = doc.RootElement;
            Assert.Equal(name, root.GetProperty("netns").GetString());
            var ports = new[] { "inetDiagMsgSocketSourcePort", "inetDiagMsgSocketDestinationPort" }
                .Select(p => root.TryGetProperty(p, out var v) ? v.GetInt32() : 0);
            Assert.Contains(port, ports);
        }
        Assert.DoesNotContain(other, result.Stdout);
        Assert.Equal(1, daemon.Metric("xtcp_polls_total", "trigger=\"stream\""));
    }

    [Fact]
    public void Ctl_says_clearly_when_nothing_listens()
    {
        var path = Path.Combine(Path.GetTempPath(), $"xt-nothing-{Guid.NewGuid():n}.sock");
        var result = CliRunner.Run("ctl", "trigger-poll", "--control-socket", path);
        Assert.Equal(1, result.ExitCode);
        Assert.Contains($"nothing is listening on --control-socket {path}", result.Stderr);
        Assert.Single(result.StderrLines);
    }

    [Fact]
    public async Task Server_reflection_lists_both_services()
    {
        using var daemon = new ControlDaemon("--dest", "null", "--frequency", "10m", "--timeout", "500ms", "--netns-dirs", "");
        using var channel = daemon.Channel();
        var client = new Grpc.Reflection.V1Alpha.ServerReflection.ServerReflectionClient(channel);
        using var call = client.ServerReflectionInfo();
        await call.RequestStream.WriteAsync(new Grpc.Reflection.V1Alpha.ServerReflectionRequest { ListServices = "" });
        await call.RequestStream.CompleteAsync();
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        var services = call.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name).ToList();
        Assert.Contains("xtcp_config.v1.ConfigService", services);
        Assert.Contains("xtcp_flat_record.v1.XTCPFlatRecordService", services);
    }
}
