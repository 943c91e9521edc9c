using XtcpEpoll.Host;

namespace XtcpEpoll.Tests.Host;

/// <summary>Runs the CLI in-process with captured stdout/stderr and an explicit XTCP_* environment.</summary>
public static class CliRunner
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr)
    {
        public string[] StderrLines => Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        public Dictionary<string, string> Config()
        {
            var map = new Dictionary<string, string>();
            foreach (var line in Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                var colon = line.IndexOf(": ", StringComparison.Ordinal);
                map[colon < 0 ? line.TrimEnd(':', '\r') : line[..colon]] = colon < 0 ? "" : line[(colon + 2)..].TrimEnd('\r');
            }
            return map;
        }
    }

    public static Result Run(params string[] args) => Run(new Dictionary<string, string>(), args);

    public static Result Run(IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = Program.Run(args, stdout, stderr, environment);
        return new Result(code, stdout.ToString(), stderr.ToString());
    }
}
