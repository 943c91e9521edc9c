using XtcpEpoll.Host.Cli;
using XtcpEpoll.Host.Config;

namespace XtcpEpoll.Host.Replay;

/// <summary>`replay FILE...`: captures → SockDiagReader → FlatRecords → the same sink as live collection.</summary>
public static class ReplayCommand
{
    public static int Run(ReplayConfig config, TextWriter stdout, TextWriter stderr)
    {
        if (config.PrintConfig)
        {
            ConfigPrinter.Print(config.Effective, stdout);
            return ExitCodes.Ok;
        }
        stderr.WriteLine("xtcp-epoll: replay is not wired yet");
        return ExitCodes.Failure;
    }
}
