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
        Assert.Equal(before + 2, errors.Value);
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

    [Fact]
    public async Task Http_non_2xx_and_unreachable_are_counted_as_errors()
    {
        var port = FreePort();
        using var listener = new HttpListener();
        listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        listener.Start();
        var serve = Task.Run(async () =>
        {
            var ctx = await listener.GetContextAsync();
            ctx.Response.StatusCode = 503;
            ctx.Response.Close();
        });
        var errors = SinkMetrics.SinkErrors.WithLabels("http");
        var before = errors.Value;
        var marshaller = new JsonlMarshaller();
        var records = SampleRecords.Many(2);
        var payload = SinkTestSupport.Marshal(marshaller, records);
        using (var destination = new HttpDestination(new Uri($"http://127.0.0.1:{port}/"), marshaller.ContentType, TimeSpan.FromSeconds(5), NullLogger.Instance))
            destination.Send(new OutgoingEnvelope(payload, records, default, marshaller));
        await serve.WaitAsync(TimeSpan.FromSeconds(10));
        listener.Stop();
        using (var destination = new HttpDestination(new Uri($"http://127.0.0.1:{FreePort()}/"), marshaller.ContentType, TimeSpan.FromSeconds(5), NullLogger.Instance))
            destination.Send(new OutgoingEnvelope(payload, records, default, marshaller));
        Assert.Equal(before + 2, errors.Value);
    }
}
