using Microsoft.Extensions.Logging;

namespace XtcpEpoll.Host.Logging;

/// <summary>Console logging to STDERR, one line per event, UTC timestamps (stdout may carry records).</summary>
public static class HostLogging
{
    public static ILoggerFactory Create(LogLevel minimum) => LoggerFactory.Create(builder =>
    {
        builder.SetMinimumLevel(minimum);
        builder.AddSimpleConsole(options =>
        {
            options.SingleLine = true;
            options.UseUtcTimestamp = true;
            options.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
            options.IncludeScopes = false;
        });
        // Every level to stderr: stdout is a record destination (--dest stdout).
        builder.AddConsole(options => options.LogToStandardErrorThreshold = LogLevel.Trace);
    });
}
