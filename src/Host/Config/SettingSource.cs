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
    private readonly Func<OptionSpec, string?> _flagValue;
    private readonly IReadOnlyDictionary<string, string> _environment;

    /// <param name="flagValue">The text given on the command line for an option, or null when absent.</param>
    public SettingSource(Func<OptionSpec, string?> flagValue, IReadOnlyDictionary<string, string> environment)
    {
        _flagValue = flagValue;
        _environment = environment;
    }

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
        var flag = _flagValue(spec);
        if (flag != null) return (flag, SettingOrigin.Flag);
        if (_environment.TryGetValue(spec.EnvironmentVariable, out var env)) return (env, SettingOrigin.Environment);
        return (spec.DefaultText, SettingOrigin.Default);
    }

    /// <summary>The process environment as a dictionary (what Main passes).</summary>
    public static IReadOnlyDictionary<string, string> ProcessEnvironment()
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (System.Collections.DictionaryEntry entry in Environment.GetEnvironmentVariables())
        {
            if (entry.Key is string key && key.StartsWith("XTCP_", StringComparison.Ordinal) && entry.Value is string value)
                result[key] = value;
        }
        return result;
    }
}
