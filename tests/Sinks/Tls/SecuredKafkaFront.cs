using System.Buffers.Binary;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace XtcpEpoll.Tests.Sinks.Tls;

/// <summary>
/// A TLS (and optionally SASL) listener in front of a one-broker librdkafka mock cluster, whose brokers only
/// speak plaintext and whose request handlers have no SaslHandshake/SaslAuthenticate (librdkafka's own test
/// suite skips every SSL/SASL test on the mock; and a client configured with test.mock.num.brokers is
/// forced to plaintext). The mock is told to advertise this front as broker 1, so every connection a
/// client makes goes: TLS handshake here (server certificate from a test CA; client certificate demanded
/// when <see cref="ClientCa"/> is set), then, in SASL mode, ApiVersions is forwarded to the broker with
/// SaslHandshake v0-1 and SaslAuthenticate v0-1 added to its answer, SaslHandshake and SaslAuthenticate are
/// answered here (SCRAM-SHA-256/512 or PLAIN, <see cref="ScramServer"/>), and after authentication the
/// connection is piped to the mock broker unchanged. It records what happened on the wire.
/// </summary>
public sealed class SecuredKafkaFront : TlsTestListener
{
    private const short ApiVersionsKey = 18, SaslHandshakeKey = 17, SaslAuthenticateKey = 36;
    private const short UnsupportedSaslMechanism = 33, SaslAuthenticationFailed = 58;

    private readonly string _brokerHost;
    private readonly int _brokerPort;
    private readonly string? _mechanism;
    private readonly string _user;
    private readonly List<string> _authenticated = [];
    private int _failedAuthentications;

    /// <param name="mechanism">null for TLS only (security.protocol=SSL); else SCRAM-SHA-256, SCRAM-SHA-512 or PLAIN.</param>
    public SecuredKafkaFront(KafkaMockCluster cluster, X509Certificate2 certificate, string? mechanism = null, string user = "", string password = "")
        : base(certificate)
    {
        _mechanism = mechanism;
        _user = user;
        Password = password;
        var bootstrap = cluster.BootstrapServers.Split(',')[0];
        _brokerHost = bootstrap[..bootstrap.LastIndexOf(':')];
        _brokerPort = int.Parse(bootstrap[(bootstrap.LastIndexOf(':') + 1)..]);
        cluster.AdvertiseBroker(1, "127.0.0.1", Port);
        StartAccepting();
    }

    public string BootstrapServers => $"127.0.0.1:{Port}";

    /// <summary>The password the front accepts (change it to "fix" a credential while clients retry).</summary>
    public string Password { get; set; }

    public int FailedAuthentications => Volatile.Read(ref _failedAuthentications);
    public List<string> Authenticated { get { lock (_authenticated) return [.. _authenticated]; } }

    protected override async Task Serve(SslStream tls)
    {
        using var upstream = new TcpClient();
        await upstream.ConnectAsync(_brokerHost, _brokerPort, Stopping.Token);
        var broker = upstream.GetStream();
        if (_mechanism != null && !await Authenticate(tls, broker)) return;
        var toBroker = tls.CopyToAsync(broker, Stopping.Token);
        var toClient = broker.CopyToAsync(tls, Stopping.Token);
        await Task.WhenAny(toBroker, toClient);
    }

    /// <summary>The SASL exchange; true once authenticated (the rest of the connection is piped).</summary>
    private async Task<bool> Authenticate(Stream client, Stream broker)
    {
        var scram = new ScramServer(_mechanism!, _user, Password);
        while (true)
        {
            var request = await ReadFrame(client);
            if (request == null) return false;
            var apiKey = BinaryPrimitives.ReadInt16BigEndian(request);
            var apiVersion = BinaryPrimitives.ReadInt16BigEndian(request.AsSpan(2));
            var correlationId = BinaryPrimitives.ReadInt32BigEndian(request.AsSpan(4));
            var body = request.AsSpan(8 + 2 + Math.Max(0, (int)BinaryPrimitives.ReadInt16BigEndian(request.AsSpan(8)))).ToArray();
            switch (apiKey)
            {
                case ApiVersionsKey:
                    await WriteFrame(broker, request);
                    var answer = await ReadFrame(broker) ?? throw new IOException("broker closed during ApiVersions");
                    await WriteFrame(client, apiVersion < 3 ? WithSaslApis(answer, apiVersion) : answer);
                    break;
                case SaslHandshakeKey:
                    var mechanism = Encoding.UTF8.GetString(body, 2, BinaryPrimitives.ReadInt16BigEndian(body));
                    var handshake = new Response(correlationId).Int16(mechanism == _mechanism ? (short)0 : UnsupportedSaslMechanism).Int32(1).String(_mechanism!);
                    await WriteFrame(client, handshake.ToArray());
                    if (mechanism != _mechanism) return false;
                    break;
                case SaslAuthenticateKey:
                    var token = body.AsSpan(4, BinaryPrimitives.ReadInt32BigEndian(body)).ToArray();
                    var reply = scram.Step(token, out var done);
                    var response = new Response(correlationId);
                    if (reply == null)
                    {
                        Interlocked.Increment(ref _failedAuthentications);
                        response.Int16(SaslAuthenticationFailed).String($"Authentication failed during authentication due to invalid credentials with SASL mechanism {_mechanism}").Bytes([]);
                    }
                    else response.Int16(0).NullString().Bytes(reply);
                    if (apiVersion >= 1) response.Int64(0); // session_lifetime_ms: no re-authentication
                    await WriteFrame(client, response.ToArray());
                    if (reply == null) return false;
                    if (done)
                    {
                        lock (_authenticated) _authenticated.Add(scram.AuthenticatedUser!);
                        return true;
                    }
                    break;
                default:
                    throw new IOException($"request {apiKey} before authentication");
            }
        }
    }

    /// <summary>
    /// A non-flexible ApiVersions answer (v0-2: error, int32 count, (key, min, max) entries, [throttle])
    /// with SaslHandshake v0-1 and SaslAuthenticate v0-1 added, in key order.
    /// </summary>
    private static byte[] WithSaslApis(byte[] answer, short version)
    {
        var count = BinaryPrimitives.ReadInt32BigEndian(answer.AsSpan(6));
        var entries = new SortedDictionary<short, (short Min, short Max)>();
        for (var i = 0; i < count; i++)
        {
            var at = 10 + i * 6;
            entries[BinaryPrimitives.ReadInt16BigEndian(answer.AsSpan(at))] =
                (BinaryPrimitives.ReadInt16BigEndian(answer.AsSpan(at + 2)), BinaryPrimitives.ReadInt16BigEndian(answer.AsSpan(at + 4)));
        }
        entries[SaslHandshakeKey] = (0, 1);
        entries[SaslAuthenticateKey] = (0, 1);
        var response = new Response(BinaryPrimitives.ReadInt32BigEndian(answer)).Int16(BinaryPrimitives.ReadInt16BigEndian(answer.AsSpan(4))).Int32(entries.Count);
        foreach (var (key, (min, max)) in entries) response.Int16(key).Int16(min).Int16(max);
        if (version >= 1) response.Int32(BinaryPrimitives.ReadInt32BigEndian(answer.AsSpan(10 + count * 6)));
        return response.ToArray();
    }

    private async Task<byte[]?> ReadFrame(Stream stream)
    {
        var size = new byte[4];
        try { await stream.ReadExactlyAsync(size, Stopping.Token); }
        catch (EndOfStreamException) { return null; }
        var frame = new byte[BinaryPrimitives.ReadInt32BigEndian(size)];
        await stream.ReadExactlyAsync(frame, Stopping.Token);
        return frame;
    }

    private async Task WriteFrame(Stream stream, byte[] frame)
    {
        var size = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(size, frame.Length);
        await stream.WriteAsync(size, Stopping.Token);
        await stream.WriteAsync(frame, Stopping.Token);
        await stream.FlushAsync(Stopping.Token);
    }

    /// <summary>A Kafka response (header v0: the correlation id) built field by field, big-endian.</summary>
    private sealed class Response
    {
        private readonly MemoryStream _bytes = new();

        public Response(int correlationId) => Int32(correlationId);

        public Response Int16(short value) { Span<byte> b = stackalloc byte[2]; BinaryPrimitives.WriteInt16BigEndian(b, value); _bytes.Write(b); return this; }
        public Response Int32(int value) { Span<byte> b = stackalloc byte[4]; BinaryPrimitives.WriteInt32BigEndian(b, value); _bytes.Write(b); return this; }
        public Response Int64(long value) { Span<byte> b = stackalloc byte[8]; BinaryPrimitives.WriteInt64BigEndian(b, value); _bytes.Write(b); return this; }
        public Response String(string value) { var s = Encoding.UTF8.GetBytes(value); Int16((short)s.Length); _bytes.Write(s); return this; }
        public Response NullString() => Int16(-1);
        public Response Bytes(byte[] value) { Int32(value.Length); _bytes.Write(value); return this; }
        public byte[] ToArray() => _bytes.ToArray();
    }
}
