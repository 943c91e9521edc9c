using System.Globalization;
using XtcpEpoll.Host.Cli;

namespace XtcpEpoll.Host.Config;

/// <summary>
/// Typed, validated reads of option text. The first bad value throws a <see cref="ConfigException"/>
/// whose message is one line naming the option (and the environment variable if that is where the value
/// came from), the value and what is allowed. Every read is also recorded for --print-config.
/// </summary>
public sealed class SettingReader
{
    private readonly SettingSource _source;
    private readonly List<KeyValuePair<string, string>> _effective = [];

    public SettingReader(SettingSource source) => _source = source;

    /// <summary>Effective values in read order, formatted canonically (for --print-config).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Effective => _effective;

    /// <summary>True when neither a flag nor the environment set the option.</summary>
    public bool IsDefault(OptionSpec spec) => _source.Resolve(spec).Origin == SettingOrigin.Default;

    /// <summary>Replaces the recorded effective value of an option (a default derived from other options).</summary>
    public void Override(OptionSpec spec, string display)
    {
        var index = _effective.FindIndex(kv => kv.Key == spec.Name);
        if (index >= 0) _effective[index] = new(spec.Name, display);
    }

    /// <param name="recordAs">The option --print-config shows the value under (a deprecated alias's replacement); default: <paramref name="spec"/>.</param>
    public TimeSpan Duration(OptionSpec spec, TimeSpan minimum, OptionSpec? recordAs = null)
    {
        var (text, origin) = _source.Resolve(spec);
        if (!GoDuration.TryParse(text, out var value))
            throw Invalid(spec, text, origin, GoDuration.Allowed);
        if (value < minimum)
        {
            var rule = minimum == TimeSpan.Zero ? "must not be negative"
                : minimum <= TimeSpan.FromMilliseconds(1) ? "must be greater than 0"
                : $"must be at least {GoDuration.Format(minimum)}";
            throw Invalid(spec, text, origin, $"{rule} ({GoDuration.Allowed})");
        }
        Record(recordAs ?? spec, GoDuration.Format(value));
        return value;
    }

    public long Integer(OptionSpec spec, long minimum, long maximum)
    {
        var (text, origin) = _source.Resolve(spec);
        if (!long.TryParse(text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var value)
            || value < minimum || value > maximum)
            throw Invalid(spec, text, origin, $"must be an integer from {minimum} to {maximum}");
        Record(spec, value.ToString(CultureInfo.InvariantCulture));
        return value;
    }

    public bool Switch(OptionSpec spec)
    {
        var (text, origin) = _source.Resolve(spec);
        bool value;
        switch (text.Trim().ToLowerInvariant())
        {
            case "1" or "true" or "yes" or "on": value = true; break;
            case "0" or "false" or "no" or "off" or "": value = false; break;
            default: throw Invalid(spec, text, origin, "must be true or false");
        }
        Record(spec, value ? "true" : "false");
        return value;
    }

    /// <summary>One of a fixed set of names (case-insensitive); returns the canonical spelling.</summary>
    public string Choice(OptionSpec spec, IReadOnlyList<string> allowed)
    {
        var (text, origin) = _source.Resolve(spec);
        foreach (var name in allowed)
        {
            if (string.Equals(name, text.Trim(), StringComparison.OrdinalIgnoreCase))
            {
                Record(spec, name);
                return name;
            }
        }
        throw Invalid(spec, text, origin, "allowed: " + string.Join(", ", allowed));
    }

    public string Text(OptionSpec spec, int maxLength)
    {
        var (text, origin) = _source.Resolve(spec);
        if (text.Length > maxLength) throw Invalid(spec, text, origin, $"must be at most {maxLength} characters");
        if (text.AsSpan().IndexOfAny('\n', '\r') >= 0) throw Invalid(spec, text, origin, "must be a single line");
        Record(spec, text);
        return text;
    }

    /// <summary>A value checked by another layer's parser (destinations, attributes, states...).</summary>
    public T Parsed<T>(OptionSpec spec, TryParser<T> parser, Func<T, string>? display = null)
    {
        var (text, origin) = _source.Resolve(spec);
        if (!parser(text, out var value, out var error)) throw Invalid(spec, text, origin, error);
        Record(spec, display != null ? display(value) : text);
        return value;
    }

    /// <summary>A cross-option rule failed for an already-read option.</summary>
    public ConfigException Reject(OptionSpec spec, string requirement)
    {
        var (text, origin) = _source.Resolve(spec);
        return Invalid(spec, text, origin, requirement);
    }

    public delegate bool TryParser<T>(string text, out T value, out string error);

    private void Record(OptionSpec spec, string display) => _effective.Add(new(spec.Name, display));

    private static ConfigException Invalid(OptionSpec spec, string text, SettingOrigin origin, string requirement)
    {
        // Another layer's message that already names the option and value ("--dest foo:bar: unknown scheme").
        if (requirement.StartsWith(spec.Flag, StringComparison.Ordinal))
        {
            if (requirement.Contains(text.Trim(), StringComparison.Ordinal))
                return new ConfigException(origin == SettingOrigin.Environment ? $"{spec.EnvironmentVariable}: {requirement}" : requirement);
            requirement = requirement[spec.Flag.Length..].TrimStart(':', ' ');
        }
        var where = origin == SettingOrigin.Environment ? $"{spec.EnvironmentVariable} ({spec.Flag})" : spec.Flag;
        return new ConfigException($"invalid {where} value \"{Printable(text)}\": {requirement}");
    }

    /// <summary>Keeps the error on one line whatever the operator typed.</summary>
    private static string Printable(string text)
    {
        var oneLine = text.Replace("\r", "\\r", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);
        return oneLine.Length > 200 ? oneLine[..200] + "..." : oneLine;
    }
}
