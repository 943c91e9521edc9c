using XtcpEpoll.Sinks.Options;

namespace XtcpEpoll.Sinks.Records;

/// <summary>
/// Limits of the free-text fields stamped on every record (xtcp2's config limits, so its consumers'
/// columns stay valid). Checked by <c>CollectorOptions.Validate</c> for live collection and by the Host
/// for replay: one home for both.
/// </summary>
public static class RecordStampRules
{
    public const int MaxHostname = 253;
    public const int MaxLabel = 40;
    public const int MaxTag = 40;
    public const int MaxLocation = 253;

    public static OptionError? Check(string hostname, string label, string tag, string location)
    {
        if (string.IsNullOrEmpty(hostname)) return new OptionError("hostname", hostname, "must not be empty");
        return Text("hostname", hostname, MaxHostname) ?? Text("label", label, MaxLabel)
            ?? Text("tag", tag, MaxTag) ?? Text("location", location, MaxLocation);
    }

    private static OptionError? Text(string option, string value, int maxLength)
    {
        if (value.Length > maxLength) return new OptionError(option, value, $"must be at most {maxLength} characters");
        if (value.AsSpan().IndexOfAny('\n', '\r') >= 0) return new OptionError(option, value, "must be a single line");
        return null;
    }
}
