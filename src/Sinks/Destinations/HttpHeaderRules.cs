namespace XtcpEpoll.Sinks.Destinations;

/// <summary>What an extra header of the http(s) destination (--http-header NAME=VALUE) may be.</summary>
public static class HttpHeaderRules
{
    /// <summary>Null when the header may be sent with every POST, else why not (one line).</summary>
    public static string? Check(string name, string value)
    {
        if (name.Length == 0) return "needs a header name before '='";
        foreach (var c in name)
        {
            // RFC 9110 token characters.
            if (!char.IsAsciiLetterOrDigit(c) && "!#$%&'*+-.^_`|~".IndexOf(c) < 0)
                return $"'{name}' is not a valid header name (letters, digits and !#$%&'*+-.^_`|~)";
        }
        if (name.StartsWith("Content-", StringComparison.OrdinalIgnoreCase))
            return $"{name} is set from the payload and --marshal";
        if (name is var n && (n.Equals("Host", StringComparison.OrdinalIgnoreCase) || n.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase)
            || n.Equals("Connection", StringComparison.OrdinalIgnoreCase)))
            return $"{name} is managed by the HTTP client (the host comes from --dest)";
        foreach (var c in value)
        {
            if (c is '\r' or '\n' or '\0') return "the value must be one line";
        }
        return null;
    }

    /// <summary>Headers whose values are credentials: masked wherever they are shown.</summary>
    public static bool IsSecret(string name)
    {
        foreach (var word in SecretWords)
            if (name.Contains(word, StringComparison.OrdinalIgnoreCase)) return true;
        return false;
    }

    private static readonly string[] SecretWords = ["authorization", "auth", "token", "key", "secret", "password", "cookie", "signature"];
}
