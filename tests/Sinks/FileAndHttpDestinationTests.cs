using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using XtcpEpoll.Sinks.Batching;
using XtcpEpoll.Sinks.Destinations;
using XtcpEpoll.Sinks.Marshal;
using XtcpEpoll.Sinks.Metrics;
using XtcpEpoll.Sinks.Proto;
using Xunit;

namespace XtcpEpoll.Tests.Sinks;

public class FileAndHttpDestinationTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task File_is_truncated_at_open_unless_append_and_later_sends_append(bool append)
    {
        var path = Path.Combine(Path.GetTempPath(), $"xt-sinks-{Guid.NewGuid():N}.bin");
        try
        {
            var records = SampleRecords.Many(90);
            // An earlier run's output: 2 envelopes of 30 rows.
            using (var d = StreamWriteDestination.File(path, append: false, NullLogger.Instance))
                await SinkTestSupport.SendThroughBatcher(new SinkOptions { EnvelopeFlushRows = 30 }, d, records[..60]);
            Assert.Equal(2, SinkTestSupport.DecodeProtobufList(File.ReadAllBytes(path)).Count);

            using (var d = StreamWriteDestination.File(path, append, NullLogger.Instance))
            {
                // Truncation happens when the destination opens, before anything is sent.
                Assert.Equal(append ? 2 : 0, SinkTestSupport.DecodeProtobufList(File.ReadAllBytes(path)).Count);
                await SinkTestSupport.SendThroughBatcher(new SinkOptions { EnvelopeFlushRows = 30 }, d, records[60..]);
            }
            var envelopes = SinkTestSupport.DecodeProtobufList(File.ReadAllBytes(path));
            Assert.Equal(append ? 3 : 1, envelopes.Count);
            Assert.Equal(append ? SinkTestSupport.Range(90) : Enumerable.Range(60, 30).Select(i => (ulong)i).ToList(), SinkTestSupport.Counters(envelopes));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void File_that_cannot_be_opened_fails_at_start_with_the_path()
    {
        var path = Path.Combine(Path.GetTempPath(), $"xt-sinks-missing-{Guid.NewGuid():N}", "out.bin");
        var e = Assert.Throws<InvalidOperationException>(() => StreamWriteDestination.File(path, append: false, NullLogger.Instance));
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void File_write_error_is_counted_and_does_not_throw()
    {
        // /dev/full: every write fails with ENOSPC, like a full disk.
        var errors = SinkMetrics.SinkErrors.WithLabels("file");
        var before = errors.Value;
        using var destination = StreamWriteDestination.File("/dev/full", append: false, NullLogger.Instance);
        var marshaller = new ProtobufListMarshaller();
        var records = SampleRecords.Many(3);
        var payload = SinkTestSupport.Marshal(marshaller, records);
        destination.Send(new OutgoingEnvelope(payload, records, default, marshaller));
        destination.Send(new OutgoingEnvelope(payload, records, default, marshaller));
        // xtcp_sink_errors_total{sink="file"} is process-wide: other tests' file destinations may count too.
        Assert.True(errors.Value >= before + 2, $"file errors moved by {errors.Value - before}, expected >= 2");
    }

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    [Theory]
    [InlineData("protobufList", "application/octet-stream")]
    [InlineData("jsonl", "application/x-ndjson")]
    [InlineData("protoJson", "application/json")]
    [InlineData("csv", "text/csv")]
    [InlineData("tsv", "text/tab-separated-values")]
    public async Task Http_posts_one_request_per_flush_with_the_marshaller_content_type(string marshal, string contentType)
    {
        var port = FreePort();
        using var listener = new HttpListener();
        listener.Prefixes.Add($"http://127.0.0.1:{port}/ingest/");
        listener.Start();
        var bodies = new List<(string? Type, byte[] Body)>();
        var serve = Task.Run(async () =>
        {
            while (bodies.Count < 3)
            {
                var ctx = await listener.GetContextAsync();
                var body = new MemoryStream();
                await ctx.Request.InputStream.CopyToAsync(body);
                bodies.Add((ctx.Request.ContentType, body.ToArray()));
                ctx.Response.StatusCode = 204;
                ctx.Response.Close();
            }
        });
        var options = new SinkOptions { Marshal = marshal, EnvelopeFlushRows = 10 };
        using var destination = new HttpDestination(new Uri($"http://127.0.0.1:{port}/ingest/"), SinkTestSupport.CreateMarshaller(marshal).ContentType, TimeSpan.FromSeconds(10), NullLogger.Instance);
        var records = SampleRecords.Many(30);
        await SinkTestSupport.SendThroughBatcher(options, destination, records);
        await serve.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(3, bodies.Count);
        Assert.All(bodies, b => Assert.Equal(contentType, b.Type));
        if (marshal == "protobufList")
        {
            var envelopes = new List<Envelope>();
            foreach (var b in bodies) envelopes.AddRange(SinkTestSupport.DecodeProtobufList(b.Body));
            Assert.Equal(SinkTestSupport.Range(30), SinkTestSupport.Counters(envelopes));
        }
        else if (marshal == "jsonl")
        {
            Assert.All(bodies, b => Assert.Equal(10, b.Body.Count(x => x == (byte)'\n')));
        }
    }

    /// <summary>An HttpListener on 127.0.0.1:port answering each POST with the next status of <paramref name="statuses"/> (then 204), keeping the bodies.</summary>
    private static (HttpListener Listener, List<byte[]> Bodies) Endpoint(int port, params int[] statuses)
    {
        var listener = new HttpListener();
        listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        listener.Start();
        var bodies = new List<byte[]>();
        _ = Task.Run(async () =>
        {
            for (var i = 0; ; i++)
            {
                HttpListenerContext ctx;
                try { ctx = await listener.GetContextAsync(); }
                catch (Exception e) when (e is HttpListenerException or ObjectDisposedException) { return; }
                var body = new MemoryStream();
                await ctx.Request.InputStream.CopyToAsync(body);
                lock (bodies) bodies.Add(body.ToArray());
                ctx.Response.StatusCode = i < statuses.Length ? statuses[i] : 204;
                ctx.Response.Close();
            }
        });
        return (listener, bodies);
    }

    private static HttpDestination Destination(int port)
        => new(new Uri($"http://127.0.0.1:{port}/"), "application/octet-stream", new SinkOptions { ReconnectBackoffMax = TimeSpan.FromMilliseconds(200) }, NullLogger.Instance);

    private static void Send(HttpDestination destination, int counter)
    {
        var marshaller = new ProtobufListMarshaller();
        var records = SampleRecords.Many(1, seed: counter);
        records[0].RecordCounter = (ulong)counter;
        destination.Send(new OutgoingEnvelope(SinkTestSupport.Marshal(marshaller, records), records, default, marshaller));
    }

    [Fact]
    public void Http_5xx_is_counted_and_the_envelope_retried_until_accepted()
    {
        var port = FreePort();
        var (listener, bodies) = Endpoint(port, 503, 503);
        using (listener)
        using (var destination = Destination(port))
        {
            var errorsBefore = SinkMetrics.SinkErrors.WithLabels("http").Value;
            Send(destination, 1);
            Assert.True(destination.Flush(TimeSpan.FromSeconds(20)));
            Assert.Equal(2, destination.Errors);
            Assert.Contains("POST returned 503", destination.LastError);
            Assert.True(SinkMetrics.SinkErrors.WithLabels("http").Value - errorsBefore >= 2);
            Assert.Equal(1, destination.Delivered);
            lock (bodies) Assert.Equal(3, bodies.Count); // the same envelope, posted three times
            lock (bodies) Assert.All(bodies, b => Assert.Equal(bodies[0], b));
        }
    }

    [Fact]
    public void Http_400_drops_that_envelope_counted_and_delivers_the_next()
    {
        var port = FreePort();
        var (listener, bodies) = Endpoint(port, 400);
        using (listener)
        using (var destination = Destination(port))
        {
            Send(destination, 1);
            Send(destination, 2);
            Assert.True(destination.Flush(TimeSpan.FromSeconds(20)));
            Assert.Equal(1, destination.Errors);
            Assert.Contains("dropped", destination.LastError);
            Assert.Equal(1, destination.Delivered);
            lock (bodies) Assert.Equal(2, bodies.Count);
        }
    }

    [Fact]
    public void Http_envelopes_are_held_while_the_endpoint_is_unreachable_and_all_arrive_in_order_when_it_listens()
    {
        var port = FreePort();
        using var destination = Destination(port);
        for (var i = 1; i <= 5; i++) Send(destination, i);
        Assert.True(SpinWait.SpinUntil(() => destination.Errors >= 2, TimeSpan.FromSeconds(20)), "no failed attempt counted");
        Assert.Contains("127.0.0.1", destination.LastError);
        Assert.Equal(5, destination.Depth);

        var (listener, bodies) = Endpoint(port);
        using (listener)
        {
            Assert.True(destination.Flush(TimeSpan.FromSeconds(20)));
            Assert.Equal(0, destination.Dropped);
            List<ulong> counters;
            lock (bodies) counters = bodies.Select(b => SinkTestSupport.DecodeProtobufList(b)[0].Row[0].RecordCounter).ToList();
            Assert.Equal(new ulong[] { 1, 2, 3, 4, 5 }, counters);
        }
    }

    [Fact]
    public void Http_queue_bound_drops_the_oldest_envelopes_counted()
    {
        using var destination = new HttpDestination(new Uri($"http://127.0.0.1:{FreePort()}/"), "application/x-ndjson",
            new SinkOptions { HttpQueueMaxEnvelopes = 3, ReconnectBackoffMax = TimeSpan.FromSeconds(30) }, NullLogger.Instance);
        var droppedBefore = SinkMetrics.HttpDroppedEnvelopes.Value;
        for (var i = 0; i < 10; i++) Send(destination, i);
        // One may be in flight (outside the bound); the queue holds the newest three.
        Assert.InRange(destination.Dropped, 6, 7);
        Assert.InRange(destination.Depth, 3, 4);
        Assert.True(SinkMetrics.HttpDroppedEnvelopes.Value - droppedBefore >= destination.Dropped);
    }
}
