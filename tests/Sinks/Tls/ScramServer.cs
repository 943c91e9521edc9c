using System.Security.Cryptography;
using System.Text;

namespace XtcpEpoll.Tests.Sinks.Tls;

/// <summary>
/// The server side of SASL SCRAM-SHA-256/512 (RFC 5802, RFC 7677) for one user, as a Kafka broker runs it:
/// client-first → server-first (nonce, salt, iterations); client-final → verify the proof → server-final
/// (the server signature the client checks). Also PLAIN (RFC 4616) for the same user.
/// </summary>
public sealed class ScramServer(string mechanism, string user, string password)
{
    private const int Iterations = 4096;
    private readonly HashAlgorithmName _hash = mechanism == "SCRAM-SHA-512" ? HashAlgorithmName.SHA512 : HashAlgorithmName.SHA256;
    private readonly byte[] _salt = RandomNumberGenerator.GetBytes(16);
    private string _clientFirstBare = "";
    private string _serverFirst = "";
    private string _nonce = "";

    public string Mechanism => mechanism;

    /// <summary>The user the client authenticated as (after success).</summary>
    public string? AuthenticatedUser { get; private set; }

    /// <summary>One SaslAuthenticate step: the bytes to answer, or null when authentication failed; <paramref name="done"/> after the last step.</summary>
    public byte[]? Step(byte[] clientMessage, out bool done)
    {
        var text = Encoding.UTF8.GetString(clientMessage);
        done = false;
        if (mechanism == "PLAIN")
        {
            done = true;
            var parts = text.Split('\0');
            if (parts.Length != 3 || parts[1] != user || parts[2] != password) return null;
            AuthenticatedUser = user;
            return [];
        }
        if (_serverFirst.Length == 0)
        {
            // "n,,n=user,r=clientnonce": the GS2 header, then the bare message.
            var comma = text.IndexOf(',', text.IndexOf(',') + 1);
            _clientFirstBare = text[(comma + 1)..];
            var attributes = Attributes(_clientFirstBare);
            if (attributes.GetValueOrDefault('n') != user) return null;
            _nonce = attributes['r'] + Convert.ToBase64String(RandomNumberGenerator.GetBytes(18));
            _serverFirst = $"r={_nonce},s={Convert.ToBase64String(_salt)},i={Iterations}";
            return Encoding.UTF8.GetBytes(_serverFirst);
        }
        done = true;
        var final = Attributes(text);
        if (final.GetValueOrDefault('r') != _nonce || final.GetValueOrDefault('c') != "biws") return null;
        var withoutProof = text[..text.IndexOf(",p=", StringComparison.Ordinal)];
        var authMessage = Encoding.UTF8.GetBytes($"{_clientFirstBare},{_serverFirst},{withoutProof}");
        var saltedPassword = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), _salt, Iterations, _hash, HashLength);
        var clientKey = Hmac(saltedPassword, "Client Key"u8.ToArray());
        var storedKey = Hash(clientKey);
        var clientSignature = Hmac(storedKey, authMessage);
        var proof = Convert.FromBase64String(final['p']);
        if (proof.Length != clientKey.Length) return null;
        for (var i = 0; i < proof.Length; i++) proof[i] ^= clientSignature[i];
        if (!CryptographicOperations.FixedTimeEquals(Hash(proof), storedKey)) return null;
        AuthenticatedUser = user;
        var serverSignature = Hmac(Hmac(saltedPassword, "Server Key"u8.ToArray()), authMessage);
        return Encoding.UTF8.GetBytes("v=" + Convert.ToBase64String(serverSignature));
    }

    private int HashLength => _hash == HashAlgorithmName.SHA512 ? 64 : 32;

    private byte[] Hmac(byte[] key, byte[] data) => _hash == HashAlgorithmName.SHA512 ? HMACSHA512.HashData(key, data) : HMACSHA256.HashData(key, data);

    private byte[] Hash(byte[] data) => _hash == HashAlgorithmName.SHA512 ? SHA512.HashData(data) : SHA256.HashData(data);

    private static Dictionary<char, string> Attributes(string message)
    {
        var result = new Dictionary<char, string>();
        foreach (var part in message.Split(','))
            if (part.Length >= 2 && part[1] == '=') result[part[0]] = part[2..];
        return result;
    }
}
