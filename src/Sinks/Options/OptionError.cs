namespace XtcpEpoll.Sinks.Options;

/// <summary>
/// A value an options type refused: which option (kebab-case, as on the command line), the value as the
/// library saw it, and the rule it broke. Every options type of the library (<c>SinkOptions</c> here,
/// <c>CollectorOptions</c> in Loop) returns one from its <c>Validate</c>, and the Host's binder turns it into
/// its own line naming the flag or the XTCP_* variable the value came from: the rule and its wording live
/// in the options type only, so the library and the command line cannot disagree.
/// </summary>
public sealed record OptionError(string Option, string Value, string Requirement)
{
    public string Flag => "--" + Option;

    /// <summary>The one line an operator or a library caller reads.</summary>
    public string Message => $"invalid {Flag} value \"{Value}\": {Requirement}";

    public override string ToString() => Message;

    /// <summary>
    /// Wraps a message another parser already phrased with the flag in front ("--dest foo: unknown scheme"),
    /// keeping only the part after the flag and the value as the requirement.
    /// </summary>
    public static OptionError FromMessage(string option, string value, string message)
    {
        var flag = "--" + option;
        var requirement = message;
        if (requirement.StartsWith(flag, StringComparison.Ordinal))
        {
            requirement = requirement[flag.Length..].TrimStart();
            if (value.Length > 0 && requirement.StartsWith(value, StringComparison.Ordinal))
                requirement = requirement[value.Length..];
            requirement = requirement.TrimStart(':', ' ');
        }
        return new OptionError(option, value, requirement);
    }
}
