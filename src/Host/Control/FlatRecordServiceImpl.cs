using XtcpEpoll.Netlink.Native;
using Grpc.Core;
using Microsoft.AspNetCore.Http;
using XtcpEpoll.Host.Control.Proto;
using XtcpEpoll.Loop.Control;
using XtcpEpoll.Sinks.Proto;

namespace XtcpEpoll.Host.Control;

/// <summary>
/// xtcp2's xtcp_flat_record.v1.XTCPFlatRecordService: FlatRecords streams every record as it is made;
/// PollFlatRecords runs a poll per request and streams that poll's records. Each call reads its own bounded
/// queue (<see cref="StreamSubscriber"/>), fed by the <see cref="RecordTap"/>: a client that does not read
/// loses records and, if it never reads again, its call.
/// </summary>
internal sealed class FlatRecordServiceImpl(ControlPlane plane) : XTCPFlatRecordService.XTCPFlatRecordServiceBase
{
    public override async Task FlatRecords(FlatRecordsRequest request, IServerStreamWriter<FlatRecordsResponse> responseStream, ServerCallContext context)
    {
        var subscriber = new StreamSubscriber(null, plane.StreamQueueRecords);
        await StreamAsync(subscriber, context, async token =>
        {
            await foreach (var record in subscriber.Reader.ReadAllAsync(token).ConfigureAwait(false))
            {
                await responseStream.WriteAsync(new FlatRecordsResponse { XtcpFlatRecord = XtcpFlatRecord.Parser.ParseFrom(record.Message) }, token).ConfigureAwait(false);
                subscriber.Sent();
            }
        }).ConfigureAwait(false);
    }

    public override async Task PollFlatRecords(IAsyncStreamReader<PollFlatRecordsRequest> requestStream, IServerStreamWriter<PollFlatRecordsResponse> responseStream, ServerCallContext context)
    {
        using var token = Linked(context);
        while (await requestStream.MoveNext(token.Token).ConfigureAwait(false))
        {
            // Polls never overlap and the one this request runs starts after it came: records of polls started
            // before (still arriving) are not its records. Its own are kept once its start time is known.
            long after = MonotonicClock.UnixNanosNow();
            var subscriber = new StreamSubscriber((pollNs, snapshot) => snapshot && pollNs > after, plane.StreamQueueRecords);
            await StreamAsync(subscriber, context, async cancel =>
            {
                long poll = await plane.Collector.TriggerPollAsync(PollTrigger.Stream).WaitAsync(cancel).ConfigureAwait(false);
                if (poll < 0) throw new RpcException(new Status(StatusCode.Unavailable, "the daemon is stopping"));
                var ended = plane.WaitPollEndAsync(poll);
                while (true)
                {
                    while (subscriber.Reader.TryRead(out var record))
                    {
                        if (record.PollTimestampNs != poll) continue;
                        await responseStream.WriteAsync(new PollFlatRecordsResponse { XtcpFlatRecord = XtcpFlatRecord.Parser.ParseFrom(record.Message) }, cancel).ConfigureAwait(false);
                        subscriber.Sent();
                    }
                    // Every record of the poll was appended before its end was reported: one more drain and done.
                    if (ended.IsCompleted && !subscriber.Reader.TryPeek(out _)) break;
                    await Task.WhenAny(subscriber.Reader.WaitToReadAsync(cancel).AsTask(), ended).WaitAsync(cancel).ConfigureAwait(false);
                }
            }).ConfigureAwait(false);
        }
    }

    /// <summary>Subscribes for the body's duration; a subscriber that fell too far behind ends the call with RESOURCE_EXHAUSTED.</summary>
    private async Task StreamAsync(StreamSubscriber subscriber, ServerCallContext context, Func<CancellationToken, Task> body)
    {
        using var token = Linked(context, subscriber.Disconnected);
        // A write blocked by HTTP/2 flow control (a client that stopped reading) may not see the token: abort the connection's stream.
        using var abort = subscriber.Disconnected.Register(static state => ((HttpContext)state!).Abort(), context.GetHttpContext());
        plane.Tap.Subscribe(subscriber);
        try
        {
            await body(token.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException && subscriber.Disconnected.IsCancellationRequested)
        {
            throw new RpcException(new Status(StatusCode.ResourceExhausted,
                $"disconnected: {subscriber.Dropped} records dropped because this client did not read them (its queue of {subscriber.Capacity} was full; see --stream-queue)"));
        }
        catch (OperationCanceledException) when (plane.Stopping.IsCancellationRequested)
        {
            throw new RpcException(new Status(StatusCode.Unavailable, "the daemon is stopping"));
        }
        finally
        {
            plane.Tap.Unsubscribe(subscriber);
        }
    }

    private CancellationTokenSource Linked(ServerCallContext context, CancellationToken extra = default)
        => CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, plane.Stopping.Token, extra);

}
