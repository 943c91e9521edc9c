using System.Net;
using System.Text;
using System.Text.Json;
using Google.Protobuf;
using XtcpEpoll.Sinks.Marshal;
using XtcpEpoll.Sinks.Proto;
using Xunit;

namespace XtcpEpoll.Tests.Sinks;

public class TextMarshallerTests
{
    [Fact]
    public void Jsonl_is_one_proto3_json_object_per_record_with_camel_case_names()
    {
        var records = SampleRecords.Many(12);
        var text = Encoding.UTF8.GetString(SinkTestSupport.Marshal(new JsonlMarshaller(), records));
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(records.Length, lines.Length);
        Assert.EndsWith("\n", text);
        for (var i = 0; i < lines.Length; i++)
        {
            using var doc = JsonDocument.Parse(lines[i]);
            var o = doc.RootElement;
            var m = FlatRecordMapper_ToMessage(records[i]);
            Assert.Equal(1, o.GetProperty("schemaVersion").GetInt32());
            Assert.Equal((int)m.InetDiagMsgFamily, o.GetProperty("inetDiagMsgFamily").GetInt32());
            Assert.Equal((int)m.TcpInfoRtt, o.GetProperty("tcpInfoRtt").GetInt32());
            Assert.Equal(m.CongestionAlgorithmString, o.GetProperty("congestionAlgorithmString").GetString());
            Assert.Equal(m.TimestampNs.ToString(), o.GetProperty("timestampNs").GetString()); // 64-bit as string
            Assert.Equal(m.InetDiagMsgSocketCookie.ToString(), o.GetProperty("inetDiagMsgSocketCookie").GetString());
            // The proto field is the raw 16 bytes; the text is the address of the record's family.
            Assert.Equal(AddressText(m.InetDiagMsgFamily, m.InetDiagMsgSocketSource), o.GetProperty("inetDiagMsgSocketSource").GetString());
            Assert.Equal(AddressText(m.InetDiagMsgFamily, m.InetDiagMsgSocketDestination), o.GetProperty("inetDiagMsgSocketDestination").GetString());
            Assert.Equal(SampleRecords.Context.Hostname, o.GetProperty("hostname").GetString());
            Assert.Equal(m.PodUid.Length > 0, o.TryGetProperty("podUid", out var podUid));
            if (m.PodUid.Length > 0) Assert.Equal(m.PodUid, podUid.GetString());
            Assert.Equal(m.ContainerId.Length > 0, o.TryGetProperty("containerId", out _));
            Assert.Equal(m.PodName, o.TryGetProperty("podName", out var podName) ? podName.GetString() : "");
            Assert.Equal(m.PodNamespace, o.TryGetProperty("podNamespace", out var podNamespace) ? podNamespace.GetString() : "");
            Assert.Equal(m.ContainerName, o.TryGetProperty("containerName", out var containerName) ? containerName.GetString() : "");
                        if (m.CongestionAlgorithmEnum == XtcpFlatRecord.Types.CongestionAlgorithm.Cubic)
                Assert.Equal("CONGESTION_ALGORITHM_CUBIC", o.GetProperty("congestionAlgorithmEnum").GetString());
            if (m.CongestionAlgorithmEnum == XtcpFlatRecord.Types.CongestionAlgorithm.Unspecified)
                Assert.False(o.TryGetProperty("congestionAlgorithmEnum", out _)); // default omitted

            // Every name and numeric value agrees with Google.Protobuf's own proto3 JSON of the same record
            // (addresses differ on purpose: text here, base64 there).
            using var reference = JsonDocument.Parse(JsonFormatter.Default.Format(m));
            foreach (var p in reference.RootElement.EnumerateObject())
            {
                Assert.True(o.TryGetProperty(p.Name, out var ours), "missing " + p.Name);
                if (p.Name is "inetDiagMsgSocketSource" or "inetDiagMsgSocketDestination") continue;
                Assert.Equal(p.Value.ToString(), ours.ToString());
            }
            Assert.Equal(reference.RootElement.EnumerateObject().Count(), o.EnumerateObject().Count());
        }
    }

    private static string AddressText(uint family, Google.Protobuf.ByteString raw16)
    {
        Assert.Equal(16, raw16.Length);
        var bytes = raw16.ToByteArray();
        return new IPAddress(family == 2 ? bytes[..4] : bytes).ToString();
    }

    private static XtcpFlatRecord FlatRecordMapper_ToMessage(in XtcpEpoll.Sinks.Records.FlatRecord r) => XtcpEpoll.Sinks.Records.FlatRecordMapper.ToMessage(r);

    [Fact]
    public void ProtoJson_is_one_envelope_object_that_parses_back()
    {
        var records = SampleRecords.Many(5);
        var text = Encoding.UTF8.GetString(SinkTestSupport.Marshal(new ProtoJsonMarshaller(), records));
        Assert.Single(text.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        var parsed = JsonParser.Default.Parse<Envelope>(text.Trim());
        Assert.Equal(SinkTestSupport.EnvelopeOf(records), parsed);
    }

    [Fact]
    public void Csv_writes_header_once_and_selected_columns_in_order()
    {
        var marshaller = SinkTestSupport.CreateMarshaller("csv", "hostname,inetDiagMsgSocketSource,tcpInfoRtt,inetDiagMsgState,label,tag,congestionAlgorithmEnum");
        var records = SampleRecords.Many(4);
        var first = Encoding.UTF8.GetString(SinkTestSupport.Marshal(marshaller, records.AsSpan(0, 2)));
        var second = Encoding.UTF8.GetString(SinkTestSupport.Marshal(marshaller, records.AsSpan(2, 2)));
        var lines = (first + second).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(5, lines.Length);
        Assert.Equal("hostname,inetDiagMsgSocketSource,tcpInfoRtt,inetDiagMsgState,label,tag,congestionAlgorithmEnum", lines[0]);
        Assert.DoesNotContain("hostname", second);
        Assert.Equal($"host-ü1,10.1.0.0,{records[0].Socket.Tcp.Rtt},ESTABLISHED,\"lab,el\",\"t\"\"ag\",cubic", lines[1]);
        Assert.StartsWith("host-ü1,2001:db8::1:0:1,", lines[2]);
    }

    [Fact]
    public void Tsv_escapes_tabs_and_covers_every_column_by_default()
    {
        var marshaller = SinkTestSupport.CreateMarshaller("tsv");
        var text = Encoding.UTF8.GetString(SinkTestSupport.Marshal(marshaller, SampleRecords.Many(3)));
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var header = lines[0].Split('\t');
        Assert.Equal(XtcpFlatRecord.Descriptor.Fields.InFieldNumberOrder().Count, header.Length);
        Assert.Equal("schemaVersion", header[0]);
        var row = lines[1].Split('\t');
        Assert.Equal(header.Length, row.Length);
        Assert.Equal("dc1\\track2", row[Array.IndexOf(header, "location")]);
        Assert.Equal("1", row[0]);
        Assert.StartsWith("2025-11-2", row[Array.IndexOf(header, "timestampNs")]);
    }

    [Theory]
    [InlineData("hostname,nope,tcpInfoRtt", "nope")]
    [InlineData("tcp_info_rtt", "tcp_info_rtt")]
    public void Unknown_column_is_a_one_line_error_naming_it(string columns, string bad)
    {
        Assert.False(MarshallerFactory.TryCreate("csv", columns, out _, out var error));
        Assert.Contains(bad, error);
        Assert.StartsWith("--columns", error);
        Assert.DoesNotContain("\n", error);
    }

    [Fact]
    public void Unknown_marshaller_lists_the_known_ones()
    {
        Assert.False(MarshallerFactory.TryCreate("msgpack", null, out _, out var error));
        Assert.Contains("protobufList, jsonl, protoJson, csv, tsv", error);
    }

    [Theory]
    [InlineData("10.0.0.1")]
    [InlineData("0.0.0.0")]
    [InlineData("255.255.255.255")]
    [InlineData("::")]
    [InlineData("::1")]
    [InlineData("2001:db8::1")]
    [InlineData("2001:db8:0:0:1:0:0:1")]
    [InlineData("2001:0:0:1:0:0:0:1")]
    [InlineData("fe80::1:2:3:4")]
    [InlineData("1:2:3:4:5:6:7:8")]
    [InlineData("1:0:3:4:5:6:7:8")]
    [InlineData("::ffff:192.168.1.1")]
    [InlineData("2001:db8:85a3::8a2e:370:7334")]
    public void IpText_matches_rfc5952_as_dotnet_prints_it(string address)
    {
        var ip = IPAddress.Parse(address);
        Span<byte> text = stackalloc byte[IpText.MaxLength];
        var n = IpText.Format(ip.GetAddressBytes(), text);
        Assert.Equal(ip.ToString(), Encoding.ASCII.GetString(text[..n]));
    }
}
