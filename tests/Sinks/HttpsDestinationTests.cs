using Microsoft.Extensions.Logging.Abstractions;
using XtcpEpoll.Sinks.Batching;
using XtcpEpoll.Sinks.Destinations;
using XtcpEpoll.Sinks.Metrics;
using XtcpEpoll.Sinks.Records;
using XtcpEpoll.Tests.Sinks.Tls;
using Xunit;

namespace XtcpEpoll.Tests.Sinks;

/// <summary>
/// The https destination against a real TLS server (SslStream) with a throwaway PKI: mutual TLS and a
/// required header; a server certificate we do not trust, and a missing client certificate, each fail as
/// one line naming the host and the reason, counted; the queue holds and nothing is lost once the other
/// side is fixed.
/// </summary>
public sealed class HttpsDestinationTests : IDisposable
{
    private const string Token = "Bearer t0ken-for-tests";
    private readonly TestPki _pki = new();

    public void Dispose() => _pki.Dispose();

    private SinkOptions Options(TlsHttpServer server, bool clientCertificate)
    {
        var options = new SinkOptions
        {
            Dest = $"https://127.0.0.1:{server.Port}/ingest",
            EnvelopeFlushRows = 25,
            HttpCaFile = _pki.CaFile,
            ReconnectBackoffMax = TimeSpan.FromMilliseconds(200),
            HttpHeaders = { new("Authorization", Token) },
        };
        if (clientCertificate)
        {
            var client = _pki.IssueClient(_pki.Ca, "xtcp-epoll-test-client");
            options.HttpClientCertificateFile = _pki.WriteCertificate(client, "client.pem");
            options.HttpClientKeyFile = _pki.WriteKey(client, "client.key");
        }
        return options;
    }

    private static EnvelopeBatcher Batcher(SinkOptions options) => SinkTestSupport.CreateBatcher(options);

    /// <summary>Polls of 50 records (two envelopes each).</summary>
    private static void RunPolls(EnvelopeBatcher batcher, ref int next, int polls) => SinkTestSupport.RunPolls(batcher, ref next, polls, perPoll: 50);

    private static List<ulong> Received(TlsHttpServer server)
    {
        var envelopes = new List<XtcpEpoll.Sinks.Proto.Envelope>();
        foreach (var body in server.Bodies) envelopes.AddRange(SinkTestSupport.DecodeProtobufList(body));
        return SinkTestSupport.Counters(envelopes);
    }

    [Fact]
    public async Task Every_envelope_arrives_over_mutual_tls_with_the_required_header()
    {
        using var server = new TlsHttpServer(_pki.IssueServer(_pki.Ca, "127.0.0.1", "localhost")) { ClientCa = _pki.Ca, RequiredHeader = ("Authorization", Token) };
        var options = Options(server, clientCertificate: true);
        var batcher = Batcher(options);
        var next = 0;
        RunPolls(batcher, ref next, polls: 4);
        await batcher.ShutdownAsync(TimeSpan.FromSeconds(30));
        var destination = (HttpDestination)batcher.Destination;
        batcher.Dispose();

        Assert.Equal(SinkTestSupport.Range(200), Received(server)); // 8 envelopes, every row once
        Assert.Equal(8, destination.Delivered);
        Assert.Equal(0, destination.Errors);
        Assert.Contains("CN=xtcp-epoll-test-client", server.ClientSubjects);
        Assert.Equal(0, server.FailedHandshakes);
    }

    [Fact]
    public async Task An_untrusted_server_certificate_is_one_clear_line_counted_and_nothing_is_lost_once_it_is_fixed()
    {
        var otherCa = _pki.CreateCa("some-other-ca");
        using var server = new TlsHttpServer(_pki.IssueServer(otherCa, "127.0.0.1")) { ClientCa = _pki.Ca, RequiredHeader = ("Authorization", Token) };
        var batcher = Batcher(Options(server, clientCertificate: true));
        var destination = (HttpDestination)batcher.Destination;
        var errorsBefore = SinkMetrics.SinkErrors.WithLabels("http").Value;
        var next = 0;
        RunPolls(batcher, ref next, polls: 2);
        Assert.True(SpinWait.SpinUntil(() => destination.Errors >= 2, TimeSpan.FromSeconds(20)), "no refused handshake counted");

        Assert.StartsWith("TLS with 127.0.0.1 failed: certificate of 127.0.0.1 (issued by CN=some-other-ca) rejected: PartialChain", destination.LastError);
        Assert.EndsWith("(neither the system store nor --http-ca-file trusts it); envelopes held and retried", destination.LastError);
        Assert.DoesNotContain('\n', destination.LastError!);
        Assert.True(SinkMetrics.SinkErrors.WithLabels("http").Value - errorsBefore >= 2);
        Assert.Empty(server.Bodies);

        // The server gets a certificate from the CA we trust: every held envelope goes out, in order.
        server.Certificate = _pki.IssueServer(_pki.Ca, "127.0.0.1");
        RunPolls(batcher, ref next, polls: 1);
        await batcher.ShutdownAsync(TimeSpan.FromSeconds(30));
        batcher.Dispose();
        Assert.Equal(SinkTestSupport.Range(150), Received(server));
        Assert.Equal(0, destination.Dropped);
    }

    [Fact]
    public async Task A_missing_client_certificate_is_one_clear_line_counted_and_held()
    {
        using var server = new TlsHttpServer(_pki.IssueServer(_pki.Ca, "127.0.0.1")) { ClientCa = _pki.Ca };
        var batcher = Batcher(Options(server, clientCertificate: false));
        var destination = (HttpDestination)batcher.Destination;
        var next = 0;
        RunPolls(batcher, ref next, polls: 1);
        Assert.True(SpinWait.SpinUntil(() => destination.Errors >= 2 && server.FailedHandshakes >= 2 && destination.Depth == 2, TimeSpan.FromSeconds(20)),
            $"no refused handshake counted, or envelopes not held (depth {destination.Depth})");

        Assert.StartsWith("TLS with 127.0.0.1 failed: ", destination.LastError);
        Assert.Contains("--http-client-cert", destination.LastError);
        Assert.DoesNotContain('\n', destination.LastError!);
        Assert.Empty(server.Bodies);

        // The server stops demanding a certificate (the fix on its side): the held envelopes arrive.
        server.ClientCa = null;
        await batcher.ShutdownAsync(TimeSpan.FromSeconds(30));
        batcher.Dispose();
        Assert.Equal(SinkTestSupport.Range(50), Received(server));
    }

    [Fact]
    public void A_certificate_for_another_name_is_refused_naming_it()
    {
        using var server = new TlsHttpServer(_pki.IssueServer(_pki.Ca, "ingest.other.example"));
        using var batcher = Batcher(Options(server, clientCertificate: false));
        var destination = (HttpDestination)batcher.Destination;
        var next = 0;
        RunPolls(batcher, ref next, polls: 1);
        Assert.True(SpinWait.SpinUntil(() => destination.Errors >= 1, TimeSpan.FromSeconds(20)), "no refused handshake counted");

        Assert.StartsWith("TLS with 127.0.0.1 failed: certificate of 127.0.0.1 rejected: it is not issued for that name (subject CN=ingest.other.example)", destination.LastError);
    }
}
