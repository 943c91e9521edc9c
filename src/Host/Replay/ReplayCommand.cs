using Microsoft.Extensions.Logging;
using XtcpEpoll.Host.Adapters;
using XtcpEpoll.Host.Cli;
using XtcpEpoll.Host.Config;
using XtcpEpoll.Host.Logging;
using XtcpEpoll.Loop.Parsing;
using XtcpEpoll.Netlink.Capture;
using XtcpEpoll.Netlink.Parsing;
using XtcpEpoll.Sinks.Batching;
using XtcpEpoll.Sinks.Records;

namespace XtcpEpoll.Host.Replay;

/// <summary>
/// `replay FILE...`: each capture's datagrams go through the live collection path: the parse workers'
/// <see cref="DumpDecoder"/> (one record per complete inet_diag response message, a cookie once per dump,
/// nothing after a dump's DONE / ERROR, DumpIncomplete from an NLM_F_DUMP_INTR datagram on) into the SAME
/// sink (batcher, marshaller, destination). A capture holds one dump after another; each DONE or ERROR ends
/// one. Truncated or damaged messages are counted by the parser and not emitted.
/// </summary>
public static class ReplayCommand
{
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
        var decoder = new DumpDecoder(sink, errors, netlinkerId: 0, log);
        var dump = new DumpRecords();
        var tally = new CaptureTally(); // only sock_diag datagrams are replayed; other protocols are counted
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
                    records = ReplayFile(file, context, decoder, dump, tally);
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
        log.LogInformation("replay done: {Files} files, {Records} records, {Errors} parse errors, {Capture}",
            config.Files.Count, total, errors.Total, tally);
        return exitCode;
    }

    private static long ReplayFile(string file, RecordContext context, DumpDecoder decoder, DumpRecords dump, CaptureTally tally)
    {
        long records = 0;
        dump.Reset();
        foreach (var datagram in CaptureBinding.ReadDatagrams(file, tally))
        {
            var decoded = decoder.Decode(datagram, dump, context);
            records += decoded.Appended;
            if (decoded.Ending != DatagramEnding.None) dump.Reset(); // the next datagram starts the next dump
        }
        return records;
    }

    private static string OneLine(string text) => text.Replace('\r', ' ').Replace('\n', ' ');
}
