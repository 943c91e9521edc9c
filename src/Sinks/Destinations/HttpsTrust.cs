using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace XtcpEpoll.Sinks.Destinations;

/// <summary>
/// TLS for the http(s) destination: which servers are trusted (the system store, plus the CAs of
/// --http-ca-file) and which certificate we present (--http-client-cert / --http-client-key, mutual TLS).
/// When a server certificate is refused, <see cref="LastRejection"/> says why in one line naming the host,
/// for the destination's error log: "certificate of ingest.example rejected: ...".
/// </summary>
public sealed class HttpsTrust : IDisposable
{
    private readonly X509Certificate2Collection _extraRoots;
    private readonly X509Certificate2? _clientCertificate;
    private readonly X509Certificate2Collection _clientChain;
    private string? _lastRejection;

    private HttpsTrust(X509Certificate2Collection extraRoots, X509Certificate2? clientCertificate, X509Certificate2Collection clientChain)
    {
        _extraRoots = extraRoots;
        _clientCertificate = clientCertificate;
        _clientChain = clientChain;
    }

    /// <summary>Why the last server certificate was refused (null while none was).</summary>
    public string? LastRejection => Volatile.Read(ref _lastRejection);

    public bool PresentsClientCertificate => _clientCertificate != null;

    /// <summary>Loads the files; throws <see cref="CryptographicException"/> or IO exceptions naming the problem.</summary>
    public static HttpsTrust Load(string? caFile, string? clientCertificateFile, string? clientKeyFile)
    {
        var roots = new X509Certificate2Collection();
        if (!string.IsNullOrEmpty(caFile)) roots = LoadCaBundle(caFile);
        X509Certificate2? client = null;
        var chain = new X509Certificate2Collection();
        if (!string.IsNullOrEmpty(clientCertificateFile) && !string.IsNullOrEmpty(clientKeyFile))
            (client, chain) = LoadClientCertificate(clientCertificateFile, clientKeyFile);
        return new HttpsTrust(roots, client, chain);
    }

    /// <summary>Every certificate of a PEM bundle; at least one.</summary>
    public static X509Certificate2Collection LoadCaBundle(string path)
    {
        var bundle = new X509Certificate2Collection();
        bundle.ImportFromPemFile(path);
        if (bundle.Count == 0) throw new CryptographicException("no PEM certificate (-----BEGIN CERTIFICATE-----) in it");
        return bundle;
    }

    /// <summary>The leaf certificate with its private key, and any intermediates that follow it in the file.</summary>
    public static (X509Certificate2 Leaf, X509Certificate2Collection Chain) LoadClientCertificate(string certificateFile, string keyFile)
    {
        var leaf = X509Certificate2.CreateFromPemFile(certificateFile, keyFile);
        var all = new X509Certificate2Collection();
        all.ImportFromPemFile(certificateFile);
        var chain = new X509Certificate2Collection();
        for (var i = 1; i < all.Count; i++) chain.Add(all[i]);
        return (leaf, chain);
    }

    /// <summary>Applies trust and the client certificate to the handler's TLS options.</summary>
    public void Configure(SslClientAuthenticationOptions ssl)
    {
        ssl.RemoteCertificateValidationCallback = Validate;
        if (_clientCertificate != null)
            ssl.ClientCertificateContext = SslStreamCertificateContext.Create(_clientCertificate, _clientChain, offline: true);
    }

    /// <summary>
    /// Accepts what the system store accepts; otherwise, when the only problem is the chain, accepts a chain
    /// that ends at one of the --http-ca-file CAs. A name mismatch is never forgiven.
    /// </summary>
    private bool Validate(object sender, X509Certificate? certificate, X509Chain? systemChain, SslPolicyErrors errors)
    {
        var host = sender is SslStream stream ? stream.TargetHostName : "the server";
        if (errors == SslPolicyErrors.None) return Accept();
        if (certificate == null || (errors & SslPolicyErrors.RemoteCertificateNotAvailable) != 0)
            return Reject($"{host} sent no certificate");
        if ((errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0)
            return Reject($"certificate of {host} rejected: it is not issued for that name (subject {certificate.Subject})");

        var what = $"certificate of {host} (issued by {certificate.Issuer})";
        if (_extraRoots.Count == 0)
            return Reject($"{what} rejected: {Describe(systemChain)} (the system store does not trust it; trust its CA with --http-ca-file)");
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(_extraRoots);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (systemChain != null)
        {
            foreach (var element in systemChain.ChainElements)
                chain.ChainPolicy.ExtraStore.Add(element.Certificate);
        }
        using var leaf = new X509Certificate2(certificate);
        if (chain.Build(leaf)) return Accept();
        return Reject($"{what} rejected: {Describe(chain)} (neither the system store nor --http-ca-file trusts it)");
    }

    private bool Accept()
    {
        Volatile.Write(ref _lastRejection, null);
        return true;
    }

    private bool Reject(string reason)
    {
        Volatile.Write(ref _lastRejection, reason);
        return false;
    }

    /// <summary>The chain's problems in words, e.g. "UntrustedRoot: self signed certificate in certificate chain".</summary>
    private static string Describe(X509Chain? chain)
    {
        if (chain == null || chain.ChainStatus.Length == 0) return "its chain could not be verified";
        var parts = new List<string>();
        foreach (var status in chain.ChainStatus)
        {
            var text = $"{status.Status}: {status.StatusInformation.Trim()}";
            if (!parts.Contains(text)) parts.Add(text);
        }
        return string.Join("; ", parts);
    }

    public void Dispose()
    {
        _clientCertificate?.Dispose();
        foreach (var c in _clientChain) c.Dispose();
        foreach (var c in _extraRoots) c.Dispose();
    }
}
