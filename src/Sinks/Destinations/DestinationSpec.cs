namespace XtcpEpoll.Sinks.Destinations;

public enum DestinationKind { Null, Stdout, File, Tcp, Unix, Udp, Unixgram, Http, Kafka }

/// <summary>A parsed, validated --dest value.</summary>
public sealed class DestinationSpec
{
    public const string Usage = "null, stdout, file:PATH, tcp:HOST:PORT, unix:PATH, udp:HOST:PORT, unixgram:PATH, http(s)://HOST[:PORT]/PATH, kafka:BROKER[,BROKER...]";

    public required DestinationKind Kind { get; init; }
    public required string Text { get; init; }
    /// <summary>tcp/udp host (brackets of an IPv6 literal removed).</summary>
    public string Host { get; init; } = "";
    public int Port { get; init; }
    /// <summary>file/unix/unixgram path.</summary>
    public string Path { get; init; } = "";
    public Uri? Uri { get; init; }
    /// <summary>Kafka bootstrap brokers (host:port).</summary>
    public IReadOnlyList<string> Brokers { get; init; } = [];

    /// <summary>
    /// Parses and validates <paramref name="text"/>. On failure <paramref name="error"/> is one line naming
    /// what to fix. A file destination is opened once here (for append, so validation never truncates), so
    /// an unwritable path fails at start-up rather than at the first flush.
    /// </summary>
    public static bool TryParse(string? text, out DestinationSpec spec, out string error)
    {
        spec = null!;
        error = "";
        text = text?.Trim() ?? "";
        if (text.Length == 0)
        {
            error = $"--dest is empty; use one of {Usage}";
            return false;
        }
        if (text == "null") { spec = new DestinationSpec { Kind = DestinationKind.Null, Text = text }; return true; }
        if (text == "stdout") { spec = new DestinationSpec { Kind = DestinationKind.Stdout, Text = text }; return true; }
        if (text.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || text.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
        {
            if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || uri.Host.Length == 0)
            {
                error = $"--dest {text}: not a valid URL; use http(s)://HOST[:PORT]/PATH";
                return false;
            }
            spec = new DestinationSpec { Kind = DestinationKind.Http, Text = text, Uri = uri };
            return true;
        }

        var colon = text.IndexOf(':');
        var scheme = colon < 0 ? text : text[..colon];
        var rest = colon < 0 ? "" : text[(colon + 1)..];
        switch (scheme)
        {
            case "file":
                return TryFile(text, rest, out spec, out error);
            case "unix":
            case "unixgram":
                if (rest.Length == 0)
                {
                    error = $"--dest {text} needs a socket path: use {scheme}:PATH";
                    return false;
                }
                spec = new DestinationSpec { Kind = scheme == "unix" ? DestinationKind.Unix : DestinationKind.Unixgram, Text = text, Path = rest };
                return true;
            case "tcp":
            case "udp":
                if (!TryHostPort(rest, out var host, out var port, out var problem))
                {
                    error = $"--dest {text} {problem}: use {scheme}:HOST:PORT";
                    return false;
                }
                spec = new DestinationSpec { Kind = scheme == "tcp" ? DestinationKind.Tcp : DestinationKind.Udp, Text = text, Host = host, Port = port };
                return true;
            case "kafka":
                return TryKafka(text, rest, out spec, out error);
            default:
                error = $"--dest {text}: unknown scheme '{scheme}'; use one of {Usage}";
                return false;
        }
    }

    private static bool TryFile(string text, string path, out DestinationSpec spec, out string error)
    {
        spec = null!;
        error = "";
        if (path.Length == 0)
        {
            error = $"--dest {text} needs a path: use file:PATH";
            return false;
        }
        try
        {
            using var probe = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            error = $"--dest {text}: cannot open {path} for writing: {e.Message}";
            return false;
        }
        spec = new DestinationSpec { Kind = DestinationKind.File, Text = text, Path = path };
        return true;
    }

    private static bool TryKafka(string text, string rest, out DestinationSpec spec, out string error)
    {
        spec = null!;
        error = "";
        var brokers = new List<string>();
        foreach (var raw in rest.Split(','))
        {
            var broker = raw.Trim();
            if (broker.Length == 0) continue;
            if (!TryHostPort(broker, out _, out _, out var problem))
            {
                error = $"--dest {text}: broker '{broker}' {problem}; use kafka:HOST:PORT[,HOST:PORT...]";
                return false;
            }
            brokers.Add(broker);
        }
        if (brokers.Count == 0)
        {
            error = $"--dest {text} needs at least one broker host:port";
            return false;
        }
        spec = new DestinationSpec { Kind = DestinationKind.Kafka, Text = text, Brokers = brokers };
        return true;
    }

    /// <summary>HOST:PORT or [V6]:PORT.</summary>
    private static bool TryHostPort(string text, out string host, out int port, out string problem)
    {
        host = "";
        port = 0;
        problem = "";
        var colon = text.LastIndexOf(':');
        if (colon < 0 || (text.StartsWith('[') && !text[..colon].EndsWith(']')))
        {
            problem = "needs a port";
            return false;
        }
        host = text[..colon];
        if (host.StartsWith('[') && host.EndsWith(']')) host = host[1..^1];
        if (host.Length == 0)
        {
            problem = "needs a host";
            return false;
        }
        if (!int.TryParse(text[(colon + 1)..], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out port)
            || port < 1 || port > 65535)
        {
            problem = $"has an invalid port '{text[(colon + 1)..]}' (1-65535)";
            return false;
        }
        return true;
    }
}
