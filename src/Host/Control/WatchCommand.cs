using Google.Protobuf;
using Grpc.Core;
using XtcpEpoll.Host.Cli;
using XtcpEpoll.Host.Config;
using XtcpEpoll.Host.Control.Proto;
using XtcpEpoll.Netlink.Requests;
using XtcpEpoll.Sinks.Proto;

namespace XtcpEpoll.Host.Control;

/// <summary>
/// `xtcp-epoll watch`: like `ss -ti`, for every namespace of the host, live. Without --poll it follows
/// FlatRecords (records as the daemon's own polls make them); with --poll each refresh runs a poll
/// (PollFlatRecords). A table per poll, or --json: one proto3-JSON record per line.
/// </summary>
internal sealed class WatchCommand(ControlSettings settings, WatchFilter filter, bool json, bool poll, TimeSpan interval, int count, TextWriter stdout, TextWriter stderr)
{
    private long _currentPoll = -1;
    private int _pollsSeen;

    public int Run()
    {
        using var channel = ControlChannel.Open(settings);
        var client = new XTCPFlatRecordService.XTCPFlatRecordServiceClient(channel);
        using var stop = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.Cancel(); };
        try
        {
            if (poll) RunPolls(client, stop.Token).GetAwaiter().GetResult();
            else RunStream(client, stop).GetAwaiter().GetResult();
            return ExitCodes.Ok;
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.Cancelled && stop.IsCancellationRequested)
        {
            return ExitCodes.Ok;
        }
        catch (RpcException e)
        {
            stderr.WriteLine("xtcp-epoll watch: " + ControlChannel.Explain(e, settings));
            return ExitCodes.Failure;
        }
    }

    private async Task RunStream(XTCPFlatRecordService.XTCPFlatRecordServiceClient client, CancellationTokenSource stop)
    {
        using var call = client.FlatRecords(new FlatRecordsRequest(), cancellationToken: stop.Token);
        while (await call.ResponseStream.MoveNext(stop.Token).ConfigureAwait(false))
        {
            if (!Show(call.ResponseStream.Current.XtcpFlatRecord))
            {
                stop.Cancel(); // --count polls shown
                return;
            }
        }
    }

    private async Task RunPolls(XTCPFlatRecordService.XTCPFlatRecordServiceClient client, CancellationToken stop)
    {
        using var call = client.PollFlatRecords(cancellationToken: stop);
        var reader = Task.Run(async () =>
        {
            while (await call.ResponseStream.MoveNext(stop).ConfigureAwait(false)) Show(call.ResponseStream.Current.XtcpFlatRecord, countPolls: false);
        }, stop);
        for (int i = 0; count == 0 || i < count; i++)
        {
            if (i > 0) await Task.Delay(interval, stop).ConfigureAwait(false);
            await call.RequestStream.WriteAsync(new PollFlatRecordsRequest(), stop).ConfigureAwait(false);
        }
        await call.RequestStream.CompleteAsync().ConfigureAwait(false); // the daemon ends the call after the last poll's records
        await reader.ConfigureAwait(false);
    }

    /// <summary>Prints the record if it matches; false once --count polls have been shown (stream mode).</summary>
    private bool Show(XtcpFlatRecord record, bool countPolls = true)
    {
        if (record.TimestampNs != _currentPoll && record.RecordOrigin == 0)
        {
            if (countPolls && count > 0 && _pollsSeen == count) return false;
            _currentPoll = record.TimestampNs;
            _pollsSeen++;
            if (!json) Header(record.TimestampNs);
        }
        if (!filter.Matches(record)) return true;
        stdout.WriteLine(json ? JsonFormatter.Default.Format(record) : Row(record));
        return true;
    }

    private void Header(long timestampNs)
    {
        stdout.WriteLine();
        stdout.WriteLine($"poll {DateTimeOffset.FromUnixTimeMilliseconds(timestampNs / 1_000_000):yyyy-MM-dd HH:mm:ss.fff}Z");
        stdout.WriteLine($"{"NETNS",-24} {"POD",-12} {"LOCAL",-28} {"PEER",-28} {"STATE",-12} {"RTT(ms)",8} {"CWND",6} {"RETRANS",7} {"BYTES",12}");
    }

    private static string Row(XtcpFlatRecord r)
    {
        var state = r.RecordOrigin == 1 ? "closed" : TcpStates.Name((byte)r.InetDiagMsgState);
        var local = Endpoint(r, r.InetDiagMsgSocketSource, r.InetDiagMsgSocketSourcePort);
        var peer = Endpoint(r, r.InetDiagMsgSocketDestination, r.InetDiagMsgSocketDestinationPort);
        var pod = r.PodUid.Length > 12 ? r.PodUid[..12] : r.PodUid;
        return $"{Clip(r.Netns, 24),-24} {pod,-12} {local,-28} {peer,-28} {state,-12} {r.TcpInfoRtt / 1000.0,8:0.###} {r.TcpInfoSndCwnd,6} {r.TcpInfoTotalRetrans,7} {r.TcpInfoBytesAcked + r.TcpInfoBytesReceived,12}";
    }

    private static string Endpoint(XtcpFlatRecord r, ByteString address, uint port)
    {
        var text = WatchFilter.Text(r, address);
        return text.Contains(':') ? $"[{text}]:{port}" : $"{text}:{port}";
    }

    private static string Clip(string text, int width) => text.Length <= width ? text : text[..(width - 1)] + "~";
}
