using System.Globalization;
using XtcpEpoll.Host.Cli;
using XtcpEpoll.Sinks.Options;

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

    /// <summary>Worth one log line each at start (unknown variables, secret files readable by others...).</summary>
    public List<string> Warnings { get; } = [];

    /// <summary>A variable of the environment the options come from (CREDENTIALS_DIRECTORY).</summary>
    public string? Variable(string name) => _source.Variable(name);

    /// <summary>True when the option was given as a flag.</summary>
    public bool FromFlag(OptionSpec spec) => _source.Resolve(spec).Origin == SettingOrigin.Flag;

    /// <summary>True when neither a flag nor the environment set the option.</summary>
    public bool IsDefault(OptionSpec spec) => _source.Resolve(spec).Origin == SettingOrigin.Default;

    /// <summary>Replaces the recorded effective value of an option (a default derived from other options).</summary>
    public void Override(OptionSpec spec, string display)
    {
        var index = _effective.FindIndex(kv => kv.Key == spec.Name);
        if (index >= 0) _effective[index] = new(spec.Name, display);
    }

    /// <param name="recordAs">The option --print-config shows the value under (a deprecated alias's replacement); default: <paramref name="spec"/>.</param>
    public TimeSpan Duration(OptionSpec spec, DurationFloor floor, OptionSpec? recordAs = null)
    {
        var (text, origin) = _source.Resolve(spec);
        if (!GoDuration.TryParse(text, out var value))
            throw Invalid(spec, text, origin, GoDuration.Allowed);
        if (floor.Check(spec.Name, value) is { } error)
            throw Invalid(spec, text, origin, error.Requirement);
        Record(recordAs ?? spec, GoDuration.Format(value));
        return value;
    }

    public long Integer(OptionSpec spec, IntegerRange range)
    {
        var (text, origin) = _source.Resolve(spec);
        if (!long.TryParse(text.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value)
            || !range.Contains(value))
            throw Invalid(spec, text, origin, range.Requirement);
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
    public string Choice(OptionSpec spec, NameSet allowed)
    {
        var (text, origin) = _source.Resolve(spec);
        var name = allowed.Find(text) ?? throw Invalid(spec, text, origin, allowed.Requirement);
        Record(spec, name);
        return name;
    }

    /// <summary>One line of free text; its length and content rules belong to the layer that uses it.</summary>
    public string Text(OptionSpec spec)
    {
        var (text, origin) = _source.Resolve(spec);
        if (text.AsSpan().IndexOfAny('\n', '\r') >= 0) throw Invalid(spec, text, origin, "must be a single line");
        Record(spec, text);
        return text;
    }

    /// <summary>
    /// The items of a repeatable option (see <see cref="SettingSource.ResolveItems"/>), recorded for
    /// --print-config as <paramref name="display"/> shows them (secrets masked), separated by ';'.
    /// </summary>
    public (IReadOnlyList<string> Items, SettingOrigin Origin) Items(OptionSpec spec, Func<string, string> display)
    {
        var (items, origin) = _source.ResolveItems(spec);
        var shown = new List<string>(items.Count);
        foreach (var item in items) shown.Add(display(item));
        Record(spec, string.Join(OptionSpec.ItemSeparator, shown));
        return (items, origin);
    }

    /// <summary>One item of a repeatable option is refused (<paramref name="shown"/> has its secrets masked).</summary>
    public static ConfigException RejectItem(OptionSpec spec, SettingOrigin origin, string shown, string requirement)
        => Invalid(spec, shown, origin, requirement);

    /// <summary>An effective value that is not an option of its own (kafka.* properties), for --print-config.</summary>
    public void Show(string key, string display) => _effective.Add(new(key, display));

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

    /// <summary>
    /// An options type's verdict (see <see cref="OptionError"/>), phrased for where the value came from: the
    /// flag, or the XTCP_* variable. An option the command line does not have keeps the library's line.
    /// </summary>
    public ConfigException Reject(OptionError error, IReadOnlyList<OptionSpec> options)
    {
        foreach (var spec in options)
            if (spec.Name == error.Option) return Reject(spec, error.Requirement);
        return new ConfigException(error.Message);
    }

    public delegate bool TryParser<T>(string text, out T value, out string error);

    private void Record(OptionSpec spec, string display) => _effective.Add(new(spec.Name, display));

    private static ConfigException Invalid(OptionSpec spec, string text, SettingOrigin origin, string requirement)
    {
        // Another layer's message may already name the option and value ("--dest foo:bar: unknown scheme"):
        // keep only its rule, so every refusal reads the same way.
        requirement = OptionError.FromMessage(spec.Name, text.Trim(), requirement).Requirement;
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
