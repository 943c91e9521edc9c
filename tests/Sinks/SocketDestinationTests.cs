using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using XtcpEpoll.Sinks.Batching;
using XtcpEpoll.Sinks.Destinations;
using XtcpEpoll.Sinks.Metrics;
using XtcpEpoll.Sinks.Proto;
using Xunit;

namespace XtcpEpoll.Tests.Sinks;

/// <summary>tcp, unix, udp, unixgram destinations against real listeners in the test.</summary>
public class SocketDestinationTests
{
    private static string TempSocketPath() => Path.Combine(Path.GetTempPath(), $"xt-sinks-{Guid.NewGuid():N}.sock");

    /// <summary>Reads varint(len)||payload frames until EOF; each payload is a protobufList payload.</summary>
    private static async Task<List<Envelope>> ReadFramedEnvelopes(Stream stream)
    {
        var all = new MemoryStream();
        await stream.CopyToAsync(all);
        var bytes = new MemoryStream(all.ToArray());
        var envelopes = new List<Envelope>();
        while (bytes.Position < bytes.Length)
        {
            var length = (int)ReadVarint(bytes);
            var payload = new byte[length];
            bytes.ReadExactly(payload);
            var decoded = SinkTestSupport.DecodeProtobufList(payload);
            Assert.Single(decoded); // one envelope per frame
            envelopes.Add(decoded[0]);
        }
        return envelopes;
    }

    private static ulong ReadVarint(Stream s)
    {
        ulong value = 0;
        for (var shift = 0; ; shift += 7)
        {
            var b = s.ReadByte();
            if (b < 0) throw new EndOfStreamException();
            value |= (ulong)(b & 0x7f) << shift;
            if (b < 0x80) return value;
        }
    }

    [Fact]
    public async Task Tcp_listener_receives_every_envelope_framed()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var records = SampleRecords.Many(300);
        var options = new SinkOptions { EnvelopeFlushRows = 40 };
        var destination = StreamSocketDestination.Tcp("127.0.0.1", port, TimeSpan.FromSeconds(1), NullLogger.Instance);
        var accept = Task.Run(async () =>
        {
            using var client = await listener.AcceptTcpClientAsync();
            return await ReadFramedEnvelopes(client.GetStream());
        });
        await SinkTestSupport.SendThroughBatcher(options, destination, records);
        destination.Dispose(); // closes the connection: the reader sees EOF
        var envelopes = await accept.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(8, envelopes.Count);
        Assert.Equal(SinkTestSupport.Range(300), SinkTestSupport.Counters(envelopes));
        Assert.Equal(SinkTestSupport.EnvelopeOf(records[..40]), envelopes[0]);
    }

    [Fact]
    public async Task Unix_stream_listener_receives_every_envelope_and_reconnects_after_peer_restart()
    {
        var path = TempSocketPath();
        try
        {
            var errors = SinkMetrics.SinkErrors.WithLabels("unix");
            var destination = StreamSocketDestination.Unix(path, TimeSpan.FromMilliseconds(50), NullLogger.Instance);
            var marshaller = new XtcpEpoll.Sinks.Marshal.ProtobufListMarshaller();
            var first = SampleRecords.Many(5);
            var payload = SinkTestSupport.Marshal(marshaller, first);

            // No listener yet: the send fails, is counted, and does not throw.
            var errorsBefore = errors.Value;
            destination.Send(new OutgoingEnvelope(payload, first, default, marshaller));
            Assert.True(errors.Value > errorsBefore);

            using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            listener.Bind(new UnixDomainSocketEndPoint(path));
            listener.Listen();
            var accept = Task.Run(async () =>
            {
                using var peer = await listener.AcceptAsync();
                return await ReadFramedEnvelopes(new NetworkStream(peer, ownsSocket: false));
            });
            // Reconnect happens after the backoff: keep flushing until one goes through.
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (!destination.Connected && DateTime.UtcNow < deadline)
            {
                destination.Send(new OutgoingEnvelope(payload, first, default, marshaller));
                await Task.Delay(20);
            }
            Assert.True(destination.Connected);
            var records = SampleRecords.Many(120);
            await SinkTestSupport.SendThroughBatcher(new SinkOptions { EnvelopeFlushRows = 50 }, destination, records);
            destination.Dispose();
            var envelopes = await accept.WaitAsync(TimeSpan.FromSeconds(20));
            Assert.Equal(SinkTestSupport.EnvelopeOf(first), envelopes[0]);
            Assert.Equal(SinkTestSupport.Range(120), SinkTestSupport.Counters(envelopes.Skip(1)));
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static Socket ForceReceiveBuffer(Socket socket)
    {
        // SO_RCVBUFFORCE (root): a large receive queue so loopback datagrams are not dropped while the test reads.
        socket.SetRawSocketOption(1, 33, BitConverter.GetBytes(32 << 20));
        return socket;
    }

    private static async Task<List<byte[]>> ReceiveDatagrams(Socket socket, Func<List<byte[]>, bool> done)
    {
        var datagrams = new List<byte[]>();
        var buffer = new byte[1 << 20];
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        while (!done(datagrams))
        {
            var n = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
            datagrams.Add(buffer.AsSpan(0, n).ToArray());
        }
        return datagrams;
    }

    private static int RowCount(List<byte[]> protobufListDatagrams)
    {
        var rows = 0;
        foreach (var d in protobufListDatagrams)
            foreach (var e in SinkTestSupport.DecodeProtobufList(d))
                rows += e.Row.Count;
        return rows;
    }

    [Fact]
    public async Task Udp_splits_a_large_envelope_into_protobufList_datagrams_under_the_limit()
    {
        using var receiver = ForceReceiveBuffer(new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp));
        receiver.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var port = ((IPEndPoint)receiver.LocalEndPoint!).Port;
        var records = SampleRecords.Many(1500);
        var options = new SinkOptions { EnvelopeFlushRows = 1500, EnvelopeFlushBytes = 8 << 20 };
        var receive = ReceiveDatagrams(receiver, d => RowCount(d) >= 1500);
        using var destination = DatagramDestination.Udp("127.0.0.1", port, options.UdpDatagramMaxBytes, NullLogger.Instance);
        await SinkTestSupport.SendThroughBatcher(options, destination, records, chunk: 1500);
        var datagrams = await receive;
        Assert.True(datagrams.Count > 5, $"one envelope of ~{RowCount(datagrams)} rows should need several datagrams, got {datagrams.Count}");
        Assert.All(datagrams, d => Assert.True(d.Length <= 65_000, $"datagram of {d.Length} bytes"));
        var envelopes = new List<Envelope>();
        foreach (var d in datagrams) envelopes.AddRange(SinkTestSupport.DecodeProtobufList(d));
        Assert.Equal(SinkTestSupport.Range(1500), SinkTestSupport.Counters(envelopes));
    }

    [Fact]
    public async Task Udp_jsonl_is_split_at_line_boundaries()
    {
        using var receiver = ForceReceiveBuffer(new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp));
        receiver.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var port = ((IPEndPoint)receiver.LocalEndPoint!).Port;
        var options = new SinkOptions { Marshal = "jsonl", EnvelopeFlushRows = 400 };
        static int Lines(List<byte[]> d) => d.Sum(x => x.Count(b => b == (byte)'\n'));
        var receive = ReceiveDatagrams(receiver, d => Lines(d) >= 400);
        using var destination = DatagramDestination.Udp("127.0.0.1", port, 16_000, NullLogger.Instance);
        await SinkTestSupport.SendThroughBatcher(options, destination, SampleRecords.Many(400), chunk: 400);
        var datagrams = await receive;
        Assert.True(datagrams.Count > 3);
        var counters = new List<ulong>();
        foreach (var d in datagrams)
        {
            Assert.True(d.Length <= 16_000);
            Assert.Equal((byte)'\n', d[^1]);
            foreach (var line in Encoding.UTF8.GetString(d).Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                using var doc = System.Text.Json.JsonDocument.Parse(line);
                counters.Add(doc.RootElement.TryGetProperty("recordCounter", out var c) ? ulong.Parse(c.GetString()!) : 0);
            }
        }
        counters.Sort();
        Assert.Equal(SinkTestSupport.Range(400), counters);
    }

    [Fact]
    public async Task Unixgram_splits_and_every_row_arrives()
    {
        var path = TempSocketPath();
        try
        {
            using var receiver = ForceReceiveBuffer(new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified));
            receiver.Bind(new UnixDomainSocketEndPoint(path));
            var options = new SinkOptions { EnvelopeFlushRows = 800, EnvelopeFlushBytes = 8 << 20 };
            var receive = ReceiveDatagrams(receiver, d => RowCount(d) >= 800);
            using var destination = DatagramDestination.Unixgram(path, 20_000, NullLogger.Instance);
            await SinkTestSupport.SendThroughBatcher(options, destination, SampleRecords.Many(800), chunk: 800);
            var datagrams = await receive;
            Assert.True(datagrams.Count > 5);
            Assert.All(datagrams, d => Assert.True(d.Length <= 20_000));
            var envelopes = new List<Envelope>();
            foreach (var d in datagrams) envelopes.AddRange(SinkTestSupport.DecodeProtobufList(d));
            Assert.Equal(SinkTestSupport.Range(800), SinkTestSupport.Counters(envelopes));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task Unixgram_too_big_for_the_socket_halves_the_limit_and_still_delivers()
    {
        var path = TempSocketPath();
        try
        {
            using var receiver = ForceReceiveBuffer(new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified));
            receiver.Bind(new UnixDomainSocketEndPoint(path));
            // 4 MiB first try: far beyond SO_SNDBUF, so the kernel answers EMSGSIZE and the limit is halved.
            using var destination = DatagramDestination.Unixgram(path, 4 << 20, NullLogger.Instance);
            var options = new SinkOptions { EnvelopeFlushRows = 3000, EnvelopeFlushBytes = 8 << 20 };
            var receive = ReceiveDatagrams(receiver, d => RowCount(d) >= 3000);
            await SinkTestSupport.SendThroughBatcher(options, destination, SampleRecords.Many(3000), chunk: 3000);
            var datagrams = await receive;
            Assert.True(destination.Limit < 4 << 20);
            var envelopes = new List<Envelope>();
            foreach (var d in datagrams) envelopes.AddRange(SinkTestSupport.DecodeProtobufList(d));
            Assert.Equal(SinkTestSupport.Range(3000), SinkTestSupport.Counters(envelopes));
        }
        finally
        {
            File.Delete(path);
        }
    }
}

public class DatagramSplitterTests
{
    [Fact]
    public void Splits_protobufList_without_precomputed_sizes_and_every_piece_fits()
    {
        var marshaller = new XtcpEpoll.Sinks.Marshal.ProtobufListMarshaller();
        var records = SampleRecords.Many(200);
        var payload = SinkTestSupport.Marshal(marshaller, records);
        var splitter = new DatagramSplitter(5000);
        var pieces = new List<byte[]>();
        splitter.Send(new OutgoingEnvelope(payload, records, default, marshaller), d =>
        {
            pieces.Add(d.ToArray());
            return d.Length <= 3000 ? DatagramResult.Sent : DatagramResult.TooBig; // the "kernel" allows 3000
        });
        Assert.Equal(0, splitter.Unsendable);
        Assert.True(splitter.Limit <= 3000);
        var delivered = pieces.Where(p => p.Length <= 3000).SelectMany(p => SinkTestSupport.DecodeProtobufList(p)).ToList();
        Assert.Equal(SinkTestSupport.Range(200), SinkTestSupport.Counters(delivered));
    }

    [Fact]
    public void ProtoJson_is_split_by_re_marshalling_halves()
    {
        var marshaller = new XtcpEpoll.Sinks.Marshal.ProtoJsonMarshaller();
        var records = SampleRecords.Many(64);
        var payload = SinkTestSupport.Marshal(marshaller, records);
        var splitter = new DatagramSplitter(20_000);
        var pieces = new List<byte[]>();
        splitter.Send(new OutgoingEnvelope(payload, records, default, marshaller), d => { pieces.Add(d.ToArray()); return DatagramResult.Sent; });
        Assert.True(pieces.Count > 1);
        Assert.All(pieces, p => Assert.True(p.Length <= 20_000));
        var rows = pieces.SelectMany(p => Google.Protobuf.JsonParser.Default.Parse<Envelope>(System.Text.Encoding.UTF8.GetString(p).Trim()).Row).ToList();
        Assert.Equal(SinkTestSupport.Range(64), SinkTestSupport.Counters([new Envelope { Row = { rows } }]));
    }
}
