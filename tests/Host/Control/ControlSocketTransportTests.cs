extern alias xtcp2;

using System.Net.Sockets;
using xtcp2::XtcpConfig.V1;
using Xunit;

namespace XtcpEpoll.Tests.Host.Control;

/// <summary>
/// The control socket's own transport (src/Host/Control/Transport: raw fds on the main thread's epoll loop) against
/// clients that are not gRPC: garbage, a preface and silence, nothing at all, closed normally or reset. The daemon
/// answers a real client meanwhile, and every connection's fd is closed once its peer is gone.
/// </summary>
public class ControlSocketTransportTests
{
    private const int Connections = 30;

    [Fact]
    public async Task Junk_silent_and_reset_connections_leave_the_daemon_answering_and_no_fd_behind()
    {
        using var daemon = new ControlDaemon("--dest", "null", "--frequency", "10m", "--netns-dirs", "");
        daemon.Process.WaitUntil(() => daemon.MetricSum("xtcp_polls_total") >= 1, ControlDaemon.Patience, "the first poll");
        // The real client's connection is open from here to the end (a channel keeps it): part of the baseline.
        using var channel = daemon.Channel();
        var client = new ConfigService.ConfigServiceClient(channel);
        Assert.Equal(TimeSpan.FromMinutes(10), (await client.GetAsync(new GetRequest())).Config.PollFrequency.ToTimeSpan());
        int baseline = OpenFds(daemon.Process.Pid);

        var sockets = new List<Socket>();
        try
        {
            var junk = new byte[5000];
            new Random(23).NextBytes(junk);
            for (int i = 0; i < Connections; i++)
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                sockets.Add(socket);
                socket.Connect(new UnixDomainSocketEndPoint(daemon.SocketPath));
                if (i % 3 == 0) socket.Send(junk);                                    // not HTTP/2: Kestrel closes it
                else if (i % 3 == 1) socket.Send("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8); // a preface, then silence
                // else: nothing at all
            }
            daemon.Process.WaitUntil(() => OpenFds(daemon.Process.Pid) > baseline, ControlDaemon.Patience, "the connections accepted");

            // The real client is served while the others hang on.
            Assert.Equal(TimeSpan.FromMinutes(10), (await client.GetAsync(new GetRequest())).Config.PollFrequency.ToTimeSpan());
        }
        finally
        {
            for (int i = 0; i < sockets.Count; i++)
            {
                if (i % 2 == 1) sockets[i].LingerState = new LingerOption(true, 0); // close with RST
                sockets[i].Dispose();
            }
        }

        daemon.Process.WaitUntil(() => OpenFds(daemon.Process.Pid) <= baseline, ControlDaemon.Patience, $"the daemon's fds back to {baseline}");
        Assert.Equal(TimeSpan.FromMinutes(10), (await client.GetAsync(new GetRequest())).Config.PollFrequency.ToTimeSpan());
        daemon.Process.Signal(NativeTest.SIGTERM);
        Assert.Equal(0, daemon.Process.WaitForExit(ControlDaemon.Patience));
    }

    private static int OpenFds(int pid) => Directory.GetFiles($"/proc/{pid}/fd").Length;
}
