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
