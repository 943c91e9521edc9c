using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace XtcpEpoll.Tests.Sinks.Tls;

/// <summary>
/// A TLS listener on 127.0.0.1 for the secured-destination tests: each connection is handshaken as a TLS
/// server (a certificate that can be swapped while running, a client certificate demanded when
/// <see cref="ClientCa"/> is set) and counted, then handed to <see cref="Serve"/>.
/// </summary>
public abstract class TlsTestListener : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly List<SslProtocols> _protocols = [];
    private readonly List<string> _clientSubjects = [];
    private volatile X509Certificate2 _certificate;
    private int _handshakes, _failedHandshakes;

    protected TlsTestListener(X509Certificate2 certificate)
    {
        _certificate = certificate;
        _listener.Start();
    }

    /// <summary>Call at the end of the derived constructor.</summary>
    protected void StartAccepting() => _ = Task.Run(AcceptLoop);

    protected CancellationTokenSource Stopping { get; } = new();

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>The certificate presented from the next handshake on (a certificate fixed on the server side).</summary>
    public X509Certificate2 Certificate { set => _certificate = value; }

    /// <summary>When set, a client certificate chaining to this CA is required (mutual TLS).</summary>
    public X509Certificate2? ClientCa { get; set; }

    public int TlsHandshakes => Volatile.Read(ref _handshakes);
    public int FailedTlsHandshakes => Volatile.Read(ref _failedHandshakes);
    public List<SslProtocols> Protocols { get { lock (_protocols) return [.. _protocols]; } }
    public List<string> ClientSubjects { get { lock (_clientSubjects) return [.. _clientSubjects]; } }

    /// <summary>One connection after its handshake; exceptions of a dropped connection are swallowed by the caller.</summary>
    protected abstract Task Serve(SslStream tls);

    private async Task AcceptLoop()
    {
        while (!Stopping.IsCancellationRequested)
        {
            TcpClient client;
            try { client = await _listener.AcceptTcpClientAsync(Stopping.Token); }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException) { return; }
            _ = Task.Run(() => Handshake(client));
        }
    }

    private async Task Handshake(TcpClient client)
    {
        using var _ = client;
        var clientCa = ClientCa;
        await using var tls = new SslStream(client.GetStream());
        try
        {
            await tls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
            {
                ServerCertificate = _certificate,
                ClientCertificateRequired = clientCa != null,
                RemoteCertificateValidationCallback = (_, certificate, _, _) => clientCa == null || TestPki.ChainsTo(certificate, clientCa),
            }, Stopping.Token);
        }
        catch (Exception e) when (e is IOException or AuthenticationException or OperationCanceledException)
        {
            Interlocked.Increment(ref _failedHandshakes);
            return;
        }
        Interlocked.Increment(ref _handshakes);
        lock (_protocols) _protocols.Add(tls.SslProtocol);
        if (tls.RemoteCertificate != null)
            lock (_clientSubjects) _clientSubjects.Add(tls.RemoteCertificate.Subject);
        try
        {
            await Serve(tls);
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException) { }
    }

    public virtual void Dispose()
    {
        Stopping.Cancel();
        _listener.Stop();
    }
}
