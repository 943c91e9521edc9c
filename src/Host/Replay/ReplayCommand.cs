using Microsoft.Extensions.Logging;
using XtcpEpoll.Host.Adapters;
using XtcpEpoll.Host.Cli;
using XtcpEpoll.Host.Config;
using XtcpEpoll.Host.Logging;
using XtcpEpoll.Netlink.Parsing;
using XtcpEpoll.Sinks.Batching;
using XtcpEpoll.Sinks.Records;

namespace XtcpEpoll.Host.Replay;

/// <summary>
/// `replay FILE...`: each capture's datagrams → SockDiagReader → FlatRecords → the SAME sink (batcher,
/// marshaller, destination) as live collection. One record per complete inet_diag response message;
/// truncated or damaged messages are counted by the parser and not emitted.
/// </summary>
public static class ReplayCommand
{
    private const int BatchSize = 256;

    public static int Run(ReplayConfig config, TextWriter stdout, TextWriter stderr)
    {
        if (config.PrintConfig)
        {
            ConfigPrinter.Print(config.Effective, config.Warnings, stdout, stderr);
            return ExitCodes.Ok;
        }

        using var loggers = HostLogging.Create(config.LogLevel);
        var log = loggers.CreateLogger("xtcp-epoll.replay");
        foreach (var warning in config.Warnings)
            log.LogWarning("{Warning}", warning);
        IRecordSink sink = SinkBinding.CreateSink(config.Output, loggers);

        var errors = new ParseErrorCounters();
        var batch = new FlatRecord[BatchSize];
        long total = 0;
        var exitCode = ExitCodes.Ok;
        try
        {
            foreach (var file in config.Files)
            {
                var context = new RecordContext
                {
                    Hostname = config.Output.Stamp.Hostname,
                    Netns = "replay",
                    NetnsInode = 0,
                    TimestampNs = DateTime.UtcNow.Ticks * 100 - DateTime.UnixEpoch.Ticks * 100,
                    Label = config.Output.Stamp.Label,
                    Tag = config.Output.Stamp.Tag,
                    Location = config.Output.Stamp.Location,
                    DaemonVersion = HostVersion.Text,
                };
                long records;
                try
                {
                    records = ReplayFile(file, context, sink, batch, errors);
                }
                catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException)
                {
                    stderr.WriteLine($"xtcp-epoll: replay: {OneLine(e.Message)}");
                    exitCode = ExitCodes.Usage;
                    break;
                }
                sink.EndOfPoll(FlushReason.PollEnd);
                total += records;
                log.LogInformation("replayed {File}: {Records} records", file, records);
            }
        }
        finally
        {
            if (!sink.ShutdownAsync(config.ShutdownTimeout).Wait(config.ShutdownTimeout + TimeSpan.FromSeconds(2)))
                log.LogWarning("sink did not drain within --shutdown-timeout");
            (sink as IDisposable)?.Dispose();
        }
        log.LogInformation("replay done: {Files} files, {Records} records, {Errors} parse errors",
            config.Files.Count, total, errors.Total);
        return exitCode;
    }

    private static long ReplayFile(string file, RecordContext context, IRecordSink sink, FlatRecord[] batch, ParseErrorCounters errors)
    {
        long records = 0;
        var filled = 0;
        foreach (var datagram in CaptureBinding.ReadDatagrams(file))
        {
            var reader = new SockDiagReader(datagram, errors);
            while (true)
            {
                ref var record = ref batch[filled];
                record = default;
                var item = reader.Next(ref record.Socket);
                if (item == SockDiagItem.End) break;
                if (item != SockDiagItem.Socket) continue; // DONE / ERROR messages carry no socket
                record.Context = context;
                record.RecordCounter = (ulong)records++;
                if (++filled == batch.Length)
                {
                    sink.Append(batch);
                    filled = 0;
                }
            }
        }
        if (filled > 0) sink.Append(batch.AsSpan(0, filled));
        return records;
    }

    private static string OneLine(string text) => text.Replace('\r', ' ').Replace('\n', ' ');
}
