using Google.Protobuf;
using XtcpEpoll.Sinks.Marshal;
using XtcpEpoll.Sinks.Proto;
using XtcpEpoll.Sinks.Records;
using Xunit;

namespace XtcpEpoll.Tests.Sinks;

public class ProtobufEncodingTests
{
    [Fact]
    public void Encoder_bytes_equal_google_protobuf_for_every_sample_record()
    {
        foreach (var record in SampleRecords.Many(60))
        {
            var expected = FlatRecordMapper.ToMessage(record).ToByteArray();
            var size = FlatRecordEncoder.ComputeSize(record);
            Assert.Equal(expected.Length, size);
            var actual = new byte[size];
            Assert.Equal(size, FlatRecordEncoder.Write(record, actual));
            Assert.Equal(expected, actual);
        }
    }

    [Fact]
    public void Attribution_comes_from_the_socket_else_the_namespace_and_is_omitted_when_none()
    {
        var records = SampleRecords.Many(8);
        var docker = XtcpFlatRecord.Parser.ParseFrom(Encode(records[0]));
        Assert.Equal((new string('d', 64), "docker", ""), (docker.ContainerId, docker.ContainerRuntime, docker.PodUid));
        var pod = XtcpFlatRecord.Parser.ParseFrom(Encode(records[1]));
        Assert.Equal((new string('e', 64), "containerd", "5e3a9c0d-1f2b-4a6c-8e0f-1a2b3c4d5e6f"), (pod.ContainerId, pod.ContainerRuntime, pod.PodUid));
        var fromNamespace = XtcpFlatRecord.Parser.ParseFrom(Encode(records[2])); // no socket attribution, pod namespace
        Assert.Equal((new string('c', 64), "crio", "0b6ad24e-7a3c-4e35-9a7f-1f3c2d4e5f60"), (fromNamespace.ContainerId, fromNamespace.ContainerRuntime, fromNamespace.PodUid));
        var none = Encode(records[3]);
        var parsed = XtcpFlatRecord.Parser.ParseFrom(none);
        Assert.Equal(("", "", ""), (parsed.ContainerId, parsed.ContainerRuntime, parsed.PodUid));
        // Omitted, not empty: no field 40 (tag 0xC2 0x02) in the bytes.
        Assert.DoesNotContain(none.Select((b, i) => (b, i)), x => x.b == 0xC2 && x.i + 1 < none.Length && none[x.i + 1] == 0x02);
    }

    [Fact]
    public void Longest_attribution_fits_the_encoders_size_bound()
    {
        var record = SampleRecords.One(0);
        record.Attribution = RecordAttribution.Create(new string('f', RecordAttribution.MaxContainerIdLength),
            new string('r', RecordAttribution.MaxRuntimeLength), new string('9', RecordAttribution.MaxPodUidLength),
            new string('c', RecordAttribution.MaxLabelNameLength), new string('p', RecordAttribution.MaxPodNameLength),
            new string('n', RecordAttribution.MaxLabelNameLength));
        int size = FlatRecordEncoder.ComputeSize(record);
        Assert.True(size <= FlatRecordEncoder.MaxEncodedSize(record.Context), $"{size} > bound {FlatRecordEncoder.MaxEncodedSize(record.Context)}");
        Assert.Equal(FlatRecordMapper.ToMessage(record).ToByteArray(), Encode(record));
        Assert.Throws<ArgumentException>(() => RecordAttribution.Create(new string('f', 65), "docker", ""));
        Assert.Throws<ArgumentException>(() => RecordAttribution.Create("", "", "", "", new string('p', RecordAttribution.MaxPodNameLength + 1)));
    }

    [Fact]
    public void A_superseded_attribution_answers_its_successor_and_records_keep_the_object_they_were_stamped_with()
    {
        var first = RecordAttribution.Create(new string('a', 64), "containerd", "5e3a9c0d-1f2b-4a6c-8e0f-1a2b3c4d5e6f");
        var podNamed = RecordAttribution.Create(first.ContainerId, first.ContainerRuntime, first.PodUid, "", "api-0", "payments");
        var allNamed = RecordAttribution.Create(first.ContainerId, first.ContainerRuntime, first.PodUid, "app", "api-0", "payments");
        Assert.Same(first, first.Latest);
        first.Supersede(podNamed);
        first.Supersede(allNamed); // appended at the end of the chain
        Assert.Same(allNamed, first.Latest);
        Assert.Same(allNamed, podNamed.Latest);
        Assert.Throws<InvalidOperationException>(() => RecordAttribution.None.Supersede(allNamed));
        var message = FlatRecordMapper.ToMessage(SampleRecords.One(0) with { Attribution = first.Latest });
        Assert.Equal(("app", "api-0", "payments"), (message.ContainerName, message.PodName, message.PodNamespace));
    }

    private static byte[] Encode(in FlatRecord record)
    {
        var bytes = new byte[FlatRecordEncoder.ComputeSize(record)];
        FlatRecordEncoder.Write(record, bytes);
        return bytes;
    }

    [Fact]
    public void Minimal_record_omits_defaults_and_keeps_schema_version()
    {
        var record = new FlatRecord { Context = new RecordContext { Hostname = "", Netns = "", NetnsInode = 0, TimestampNs = -5 } };
        var bytes = new byte[FlatRecordEncoder.ComputeSize(record)];
        FlatRecordEncoder.Write(record, bytes);
        var parsed = XtcpFlatRecord.Parser.ParseFrom(bytes);
        Assert.Equal(1u, parsed.SchemaVersion);
        Assert.Equal(-5, parsed.TimestampNs);
        Assert.Equal(FlatRecordMapper.ToMessage(record).ToByteArray(), bytes);
    }

    [Fact]
    public void ProtobufList_payload_equals_google_encoding_and_round_trips()
    {
        var records = SampleRecords.Many(250);
        var output = new System.Buffers.ArrayBufferWriter<byte>();
        new ProtobufListMarshaller().Write(records, default, output);

        var envelope = FlatRecordMapper.ToEnvelope(records);
        var reference = new MemoryStream();
        envelope.WriteDelimitedTo(reference);
        Assert.Equal(reference.ToArray(), output.WrittenSpan.ToArray());

        var parsed = Envelope.Parser.ParseDelimitedFrom(new MemoryStream(output.WrittenSpan.ToArray()));
        Assert.Equal(records.Length, parsed.Row.Count);
        Assert.Equal(envelope, parsed);
        Assert.Equal("cubic", parsed.Row[0].CongestionAlgorithmString);
        Assert.Equal(XtcpFlatRecord.Types.CongestionAlgorithm.Cubic, parsed.Row[0].CongestionAlgorithmEnum);
        // IPv4 as xtcp2 writes it: the kernel's 16-byte field, address first, then 12 zero bytes.
        Assert.Equal(2u, parsed.Row[0].InetDiagMsgFamily);
        Assert.Equal(new byte[] { 10, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }, parsed.Row[0].InetDiagMsgSocketSource.ToByteArray());
        Assert.Equal(new byte[] { 192, 168, 100, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }, parsed.Row[0].InetDiagMsgSocketDestination.ToByteArray());
        Assert.Equal(10u, parsed.Row[1].InetDiagMsgFamily);
        Assert.Equal(System.Net.IPAddress.Parse("2001:db8::1:0:1").GetAddressBytes(), parsed.Row[1].InetDiagMsgSocketSource.ToByteArray());
        Assert.Equal(3001u, parsed.Row[0].Mark);
        Assert.True(parsed.Row[9].DumpIncomplete);
        Assert.Equal(0x20u, parsed.Row[1].TrafficClass);
    }

    [Fact]
    public unsafe void Invalid_utf8_congestion_name_is_left_out_so_the_envelope_stays_parseable()
    {
        var records = SampleRecords.Many(2);
        records[0].Socket.CongestionName[0] = 0xff;
        var payload = SinkTestSupport.Marshal(new ProtobufListMarshaller(), records);
        var parsed = Envelope.Parser.ParseDelimitedFrom(new MemoryStream(payload));
        Assert.Equal("", parsed.Row[0].CongestionAlgorithmString);
        Assert.Equal(XtcpFlatRecord.Types.CongestionAlgorithm.Cubic, parsed.Row[0].CongestionAlgorithmEnum);
        Assert.Equal("bbr", parsed.Row[1].CongestionAlgorithmString);
        Assert.Equal(2, System.Text.Encoding.UTF8.GetString(SinkTestSupport.Marshal(new JsonlMarshaller(), records)).Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
    }

    [Fact]
    public void ProtobufList_with_precomputed_sizes_matches_without()
    {
        var records = SampleRecords.Many(40, seed: 3);
        var sizes = new int[records.Length];
        for (var i = 0; i < records.Length; i++) sizes[i] = FlatRecordEncoder.ComputeSize(records[i]);
        var a = new System.Buffers.ArrayBufferWriter<byte>();
        var b = new System.Buffers.ArrayBufferWriter<byte>();
        new ProtobufListMarshaller().Write(records, sizes, a);
        new ProtobufListMarshaller().Write(records, default, b);
        Assert.Equal(b.WrittenSpan.ToArray(), a.WrittenSpan.ToArray());
        Assert.Equal(ProtobufListMarshaller.PayloadSize(ProtobufListMarshaller.EnvelopeSize(sizes)), a.WrittenCount);
    }
}

public class CapturedRecordEncodingTests
{
    /// <summary>Every socket of real kernel captures (4.19 .. 6.10), parsed by the netlink parser.</summary>
    public static List<FlatRecord> ParseCapture(string relative)
    {
        var records = new List<FlatRecord>();
        var socket = new XtcpEpoll.Netlink.Parsing.ParsedSocket();
        foreach (var datagram in XtcpEpoll.Netlink.Capture.CaptureFile.ReadDatagrams(TestPaths.Fixture(relative)))
        {
            var reader = new XtcpEpoll.Netlink.Parsing.SockDiagReader(datagram, null);
            while (reader.Next(ref socket) == XtcpEpoll.Netlink.Parsing.SockDiagItem.Socket)
            {
                records.Add(new FlatRecord { Socket = socket, Context = SampleRecords.Context, RecordCounter = (ulong)records.Count });
                socket = default;
            }
        }
        return records;
    }

    [Theory]
    [InlineData("4_19_319/4_19_319_tcp_100_sockets.pcap")]
    [InlineData("5_4_281/5_4_281_tcp_100_sockets.pcap")]
    [InlineData("6_10_3/6_10_3_tcp_1000_sockets.pcap")]
    [InlineData("6_10_3/6_10_3_tcp_2000_sockets_with_netem_bbr_approx_60mins.pcap")]
    public void Real_parsed_sockets_encode_exactly_like_google_protobuf(string capture)
    {
        var records = ParseCapture(capture).ToArray();
        Assert.NotEmpty(records);
        var output = new System.Buffers.ArrayBufferWriter<byte>();
        new ProtobufListMarshaller().Write(records, default, output);
        var reference = new MemoryStream();
        FlatRecordMapper.ToEnvelope(records).WriteDelimitedTo(reference);
        Assert.Equal(reference.ToArray(), output.WrittenSpan.ToArray());
    }
}
