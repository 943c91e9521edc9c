using XtcpEpoll.Host.Config;

namespace XtcpEpoll.Host;

public static class Program
{
    public static int Main(string[] args)
    {
        // Before Console.Out: the first console use initialises .NET's signal layer (see ShutdownSignals).
        Lifecycle.ShutdownSignals.RestoreSigIntIfIgnored();
        return Run(args, Console.Out, Console.Error);
    }

    /// <summary>The whole CLI, callable in-process (tests): returns the exit code.</summary>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
        => Run(args, stdout, stderr, SettingSource.ProcessEnvironment());

    /// <summary>As <see cref="Run(string[], TextWriter, TextWriter)"/> with an explicit XTCP_* environment.</summary>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr, IReadOnlyDictionary<string, string> environment)
        => new Cli.CommandLine(stdout, stderr, environment).Invoke(args);
}
