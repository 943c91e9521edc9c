namespace XtcpEpoll.Host.Cli;

/// <summary>
/// One command-line option: its kebab-case name, the environment variable that can also set it, its
/// default text and help. Every option is read as TEXT and parsed by the config binder, so a value from
/// the environment and the same value from a flag go through the same validation and error message.
/// </summary>
public sealed class OptionSpec
{
    public OptionSpec(string name, string defaultText, string description, bool isSwitch = false, bool isRepeatable = false, OptionSpec? replacedBy = null)
    {
        Name = name;
        DefaultText = defaultText;
        Description = description;
        IsSwitch = isSwitch;
        IsRepeatable = isRepeatable;
        ReplacedBy = replacedBy;
    }

    /// <summary>
    /// A deprecated old name: still accepted (flag and environment) with a warning, its value read as this
    /// option's; never printed by --print-config (the option it names is).
    /// </summary>
    public OptionSpec? ReplacedBy { get; }

    /// <summary>Name without dashes, e.g. "jitter-pct".</summary>
    public string Name { get; }

    /// <summary>"--jitter-pct".</summary>
    public string Flag => "--" + Name;

    /// <summary>"XTCP_JITTER_PCT": XTCP_ + the name upper-cased with dashes as underscores.</summary>
    public string EnvironmentVariable => "XTCP_" + Name.Replace('-', '_').ToUpperInvariant();

    public string DefaultText { get; }
    public string Description { get; }

    /// <summary>A boolean switch: "--proc-scan" alone means true; "--proc-scan false" is accepted too.</summary>
    public bool IsSwitch { get; }

    /// <summary>
    /// May be given several times ("--http-header A=1 --http-header B=2"); its environment variable holds the
    /// items separated by <see cref="ItemSeparator"/>. Flags replace the environment as a whole.
    /// </summary>
    public bool IsRepeatable { get; }

    public const char ItemSeparator = ';';
}
