using XtcpEpoll.Host.Cli;

namespace XtcpEpoll.Host.Config;

/// <summary>Where an effective value came from: a flag beats the environment, which beats the default.</summary>
public enum SettingOrigin { Default, Environment, Flag }

/// <summary>
/// Resolves each option's text: explicit flag, else XTCP_&lt;NAME&gt; from the environment, else the default.
/// The environment is passed in (not read globally) so in-process tests can run in parallel.
/// </summary>
public sealed class SettingSource
{
    private readonly Func<OptionSpec, IReadOnlyList<string>?> _flagValues;
    private readonly IReadOnlyDictionary<string, string> _environment;

    /// <param name="flagValues">The texts given on the command line for an option (one per occurrence), or null when absent.</param>
    /// <param name="environment">XTCP_* variables (and CREDENTIALS_DIRECTORY, see <see cref="SecretValue"/>).</param>
    public SettingSource(Func<OptionSpec, IReadOnlyList<string>?> flagValues, IReadOnlyDictionary<string, string> environment)
    {
        _flagValues = flagValues;
        _environment = environment;
    }

    /// <summary>A variable of the environment given (null when unset).</summary>
    public string? Variable(string name) => _environment.TryGetValue(name, out var value) ? value : null;

    /// <summary>
    /// XTCP_* variables that name no option of <paramref name="options"/>: almost always a typo
    /// (XTCP_FREQENCY) or an xtcp2 name, silently ignored otherwise.
    /// </summary>
    public List<string> UnknownEnvironmentVariables(IReadOnlyList<OptionSpec> options)
    {
        var unknown = new List<string>();
        foreach (var name in _environment.Keys)
        {
            if (!name.StartsWith("XTCP_", StringComparison.Ordinal)) continue;
            var known = false;
            foreach (var spec in options) known |= spec.EnvironmentVariable == name;
            if (!known) unknown.Add(name);
        }
        unknown.Sort(StringComparer.Ordinal);
        return unknown;
    }

    public (string Text, SettingOrigin Origin) Resolve(OptionSpec spec)
    {
        var flags = _flagValues(spec);
        if (flags is { Count: > 0 }) return (flags[^1], SettingOrigin.Flag);
        if (_environment.TryGetValue(spec.EnvironmentVariable, out var env)) return (env, SettingOrigin.Environment);
        return (spec.DefaultText, SettingOrigin.Default);
    }

    /// <summary>
    /// The items of a repeatable option: every flag occurrence, else the environment variable split at
    /// <see cref="OptionSpec.ItemSeparator"/> (empty items dropped), else none.
    /// </summary>
    public (IReadOnlyList<string> Items, SettingOrigin Origin) ResolveItems(OptionSpec spec)
    {
        var flags = _flagValues(spec);
        if (flags is { Count: > 0 }) return (flags, SettingOrigin.Flag);
        if (_environment.TryGetValue(spec.EnvironmentVariable, out var env))
            return (env.Split(OptionSpec.ItemSeparator, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries), SettingOrigin.Environment);
        return ([], SettingOrigin.Default);
    }

    /// <summary>The process environment as a dictionary (what Main passes): XTCP_* and systemd's CREDENTIALS_DIRECTORY.</summary>
    public static IReadOnlyDictionary<string, string> ProcessEnvironment()
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (System.Collections.DictionaryEntry entry in Environment.GetEnvironmentVariables())
        {
            if (entry.Key is string key && (key.StartsWith("XTCP_", StringComparison.Ordinal) || key == SecretValue.CredentialsDirectoryVariable)
                && entry.Value is string value)
                result[key] = value;
        }
        return result;
    }
}
