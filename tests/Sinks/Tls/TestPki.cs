using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace XtcpEpoll.Tests.Sinks.Tls;

/// <summary>
/// A throwaway PKI for TLS tests, made with .NET's CertificateRequest: a CA, server certificates for
/// 127.0.0.1 (IP and DNS SANs, serverAuth) and client certificates (clientAuth), all ECDSA P-256 and valid
/// for a day (the CA for two). PEM files are written into a private directory (mode 0600 keys) deleted on Dispose.
/// </summary>
public sealed class TestPki : IDisposable
{
    private readonly DirectoryInfo _dir = System.IO.Directory.CreateTempSubdirectory("xt-sinks-pki-");

    /// <param name="caName">Subject of <see cref="Ca"/>, the CA the tests trust (written to <see cref="CaFile"/>).</param>
    public TestPki(string caName = "xtcp-test-ca")
    {
        Ca = CreateCa(caName);
        CaFile = WriteCertificate(Ca, "ca.pem");
    }

    public string Directory => _dir.FullName;

    public X509Certificate2 Ca { get; }

    /// <summary>PEM of <see cref="Ca"/> (what --http-ca-file or ssl.ca.location is given).</summary>
    public string CaFile { get; }

    public X509Certificate2 CreateCa(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        var now = DateTimeOffset.UtcNow;
        return request.CreateSelfSigned(now.AddMinutes(-10), now.AddDays(2)); // outlives every certificate it issues
    }

    /// <summary>A server certificate for <paramref name="names"/> (IP literals become IP SANs).</summary>
    public X509Certificate2 IssueServer(X509Certificate2 ca, params string[] names)
        => Issue(ca, $"CN={names[0]}", "1.3.6.1.5.5.7.3.1", names);

    public X509Certificate2 IssueClient(X509Certificate2 ca, string name) => Issue(ca, $"CN={name}", "1.3.6.1.5.5.7.3.2", []);

    private static X509Certificate2 Issue(X509Certificate2 ca, string subject, string usage, string[] names)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(usage)], false));
        if (names.Length > 0)
        {
            var san = new SubjectAlternativeNameBuilder();
            foreach (var name in names)
            {
                if (IPAddress.TryParse(name, out var ip)) san.AddIpAddress(ip);
                else san.AddDnsName(name);
            }
            request.CertificateExtensions.Add(san.Build());
        }
        var now = DateTimeOffset.UtcNow;
        var serial = RandomNumberGenerator.GetBytes(12);
        using var issued = request.Create(ca, now.AddMinutes(-5), now.AddDays(1), serial);
        return issued.CopyWithPrivateKey(key);
    }

    /// <summary>Writes the certificate as PEM; returns its path.</summary>
    public string WriteCertificate(X509Certificate2 certificate, string name)
    {
        var path = Path.Combine(Directory, name);
        File.WriteAllText(path, certificate.ExportCertificatePem());
        return path;
    }

    /// <summary>Writes the private key as PKCS#8 PEM (encrypted when a password is given), mode 0600; returns its path.</summary>
    public string WriteKey(X509Certificate2 certificate, string name, string? password = null)
    {
        var path = Path.Combine(Directory, name);
        using var key = certificate.GetECDsaPrivateKey()!;
        File.WriteAllText(path, password == null ? key.ExportPkcs8PrivateKeyPem()
            : key.ExportEncryptedPkcs8PrivateKeyPem(password, new PbeParameters(PbeEncryptionAlgorithm.Aes256Cbc, HashAlgorithmName.SHA256, 10_000)));
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return path;
    }

    /// <summary>True when <paramref name="certificate"/> chains to <paramref name="ca"/> (what a TLS peer demanding a client certificate checks).</summary>
    public static bool ChainsTo(X509Certificate? certificate, X509Certificate2 ca)
    {
        if (certificate == null) return false;
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(certificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()));
    }

    public void Dispose() => _dir.Delete(recursive: true);
}
