using XtcpEpoll.Host.Cli;
using XtcpEpoll.Sinks.Batching;
using XtcpEpoll.Sinks.Destinations;
using O = XtcpEpoll.Host.Cli.OptionCatalog;

namespace XtcpEpoll.Host.Config;

/// <summary>
/// The secured-destination options: librdkafka properties from --kafka-config-file then --kafka-config
/// (flags, or XTCP_KAFKA_CONFIG split at ';'), and the http(s) queue, trust, client certificate and headers.
/// Values written @/path are read from their files here (<see cref="SecretValue"/>). Each item is checked as
/// it is read, with the rule of <see cref="SinkOptions"/>, so a refusal names where the item came from:
/// the flag, the variable, or the file and line.
/// </summary>
public static class SecuredSinkBinder
{
    public static void Bind(SettingReader r, SinkOptions sink, DestinationSpec destination)
    {
        BindKafka(r, sink, destination);
        sink.HttpQueueMaxEnvelopes = (int)r.Integer(O.HttpQueueMaxEnvelopes, SinkOptions.HttpQueueMaxEnvelopesRange);
        sink.HttpQueueMaxBytes = r.Integer(O.HttpQueueMaxBytes, SinkOptions.HttpQueueMaxBytesRange);
        sink.HttpCaFile = Nullable(r.Text(O.HttpCaFile));
        sink.HttpClientCertificateFile = Nullable(r.Text(O.HttpClientCert));
        sink.HttpClientKeyFile = Nullable(r.Text(O.HttpClientKey));
        if (sink.HttpClientKeyFile != null && SecretValue.PermissionWarning(sink.HttpClientKeyFile) is { } warning) r.Warnings.Add(warning);
        BindHeaders(r, sink, destination.Kind);
    }

    /// <summary>One KEY=VALUE property, and how to refuse it naming where it came from.</summary>
    private sealed record Property(string Key, string Value, Func<string, ConfigException> Reject);

    private static void BindKafka(SettingReader r, SinkOptions sink, DestinationSpec destination)
    {
        // Precedence: our defaults (KafkaProducerSettings) < the file < the flags (or XTCP_KAFKA_CONFIG).
        var merged = new Dictionary<string, Property>(StringComparer.Ordinal);
        var file = r.Text(O.KafkaConfigFile);
        if (file.Length > 0)
        {
            foreach (var property in ReadPropertiesFile(r, file)) merged[property.Key] = property;
        }
        var (items, origin) = r.Items(O.KafkaConfig, static item => SplitPair(item, out var key, out var value) ? Shown(key, value) : item);
        foreach (var item in items)
        {
            var shown = SplitPair(item, out var key, out var value) ? Shown(key, value) : item;
            Func<string, ConfigException> reject = rule => SettingReader.RejectItem(O.KafkaConfig, origin, ShownRefused(shown, key, rule), rule);
            if (key.Length == 0) throw reject("expected KEY=VALUE, e.g. security.protocol=SASL_SSL");
            merged[key] = new Property(key, value, reject);
        }

        var files = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var property in merged.Values)
        {
            if (!SecretValue.TryResolve(property.Value, r.Variable, r.Warnings, out var value, out var secretFile, out var error))
                throw property.Reject(error);
            if (sink.KafkaPropertyError(destination.Kind, property.Key, value) is { } rule) throw property.Reject(rule);
            if (KafkaProducerSettings.IsSecretFile(property.Key) && SecretValue.PermissionWarning(value) is { } warning) r.Warnings.Add(warning);
            if (secretFile != null) files[property.Key] = secretFile;
            sink.KafkaProperties[property.Key] = value;
        }
        if (destination.Kind != DestinationKind.Kafka) return;
        foreach (var (key, value) in KafkaProducerSettings.Effective(destination.Brokers, sink))
        {
            var display = KafkaProducerSettings.Display(key, value);
            r.Show("kafka." + key, files.TryGetValue(key, out var from) ? $"{display} (from {from})" : display);
        }
    }

    /// <summary>A librdkafka properties file (kcat -F): KEY=VALUE per line, blank lines and # comments ignored.</summary>
    private static List<Property> ReadPropertiesFile(SettingReader r, string path)
    {
        var where = r.IsDefault(O.KafkaConfigFile) || r.FromFlag(O.KafkaConfigFile) ? O.KafkaConfigFile.Flag : $"{O.KafkaConfigFile.EnvironmentVariable} ({O.KafkaConfigFile.Flag})";
        string[] lines;
        try
        {
            lines = File.ReadAllLines(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException($"invalid {where} value \"{path}\": cannot read it: {e.Message}");
        }
        var properties = new List<Property>();
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i].Trim();
            if (line.Length == 0 || line[0] == '#') continue;
            var lineNumber = i + 1;
            var shown = SplitPair(line, out var key, out var value) ? Shown(key, value) : line;
            Func<string, ConfigException> reject = rule => new ConfigException($"invalid {where} {path} line {lineNumber} \"{ShownRefused(shown, key, rule)}\": {rule}");
            if (key.Length == 0) throw reject("expected KEY=VALUE (or a # comment)");
            properties.Add(new Property(key, value, reject));
        }
        return properties;
    }

    private static void BindHeaders(SettingReader r, SinkOptions sink, DestinationKind kind)
    {
        var (items, origin) = r.Items(O.HttpHeader, static item => SplitPair(item, out var name, out var value) ? ShownHeader(name, value) : item);
        foreach (var item in items)
        {
            var shown = SplitPair(item, out var name, out var text) ? ShownHeader(name, text) : item;
            if (name.Length == 0) throw SettingReader.RejectItem(O.HttpHeader, origin, shown, "expected NAME=VALUE, e.g. Authorization=@/etc/xtcp-epoll/http-auth");
            if (!SecretValue.TryResolve(text, r.Variable, r.Warnings, out var value, out _, out var error))
                throw SettingReader.RejectItem(O.HttpHeader, origin, shown, error);
            if (SinkOptions.HttpHeaderError(kind, name, value) is { } rule) throw SettingReader.RejectItem(O.HttpHeader, origin, shown, rule);
            sink.HttpHeaders.Add(new(name, value));
        }
    }

    /// <summary>KEY=VALUE split at the first '=' (both trimmed); false (and an empty key) when there is none.</summary>
    private static bool SplitPair(string item, out string key, out string value)
    {
        var eq = item.IndexOf('=');
        key = eq > 0 ? item[..eq].Trim() : "";
        value = eq > 0 ? item[(eq + 1)..].Trim() : "";
        return key.Length > 0;
    }

    /// <summary>How a property is shown: a file reference as given (a path is not a secret), a secret masked.</summary>
    private static string Shown(string key, string value)
        => $"{key}={(SecretValue.IsFileReference(value) ? value : KafkaProducerSettings.Display(key, value))}";

    /// <summary>
    /// An unknown key is often a misspelt secret ("sasl.pasword"): its value is masked in the refusal too
    /// (librdkafka's message names the key only).
    /// </summary>
    private static string ShownRefused(string shown, string key, string rule)
        => rule.StartsWith("No such configuration property", StringComparison.Ordinal) ? $"{key}={KafkaProducerSettings.Masked}" : shown;

    private static string ShownHeader(string name, string value)
        => SecretValue.IsFileReference(value) ? $"{name}={value}" : SinkOptions.DisplayHeader(name, value);

    private static string? Nullable(string text) => string.IsNullOrWhiteSpace(text) ? null : text;
}
