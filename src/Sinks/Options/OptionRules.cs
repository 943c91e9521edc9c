using System.Globalization;

namespace XtcpEpoll.Sinks.Options;

/// <summary>
/// The allowed range of an integer option. Declared once beside the option's property (e.g.
/// <c>CollectorOptions.JitterPctRange</c>); the library's Validate and the command line's parser both check
/// the same object, with the same wording.
/// </summary>
public sealed record IntegerRange(long Min, long Max)
{
    public string Requirement => $"must be an integer from {Min.ToString(CultureInfo.InvariantCulture)} to {Max.ToString(CultureInfo.InvariantCulture)}";

    public bool Contains(long value) => value >= Min && value <= Max;

    public OptionError? Check(string option, long value)
        => Contains(value) ? null : new OptionError(option, value.ToString(CultureInfo.InvariantCulture), Requirement);
}

/// <summary>The smallest allowed value of a duration option (same sharing as <see cref="IntegerRange"/>).</summary>
public sealed record DurationFloor(TimeSpan Min)
{
    /// <summary>Durations must be positive (anything from 1 ms up).</summary>
    public static readonly DurationFloor Positive = new(TimeSpan.FromMilliseconds(1));
    /// <summary>Zero allowed (it means "at every poll" or "off").</summary>
    public static readonly DurationFloor NotNegative = new(TimeSpan.Zero);

    public string Requirement => Min == TimeSpan.Zero ? "must not be negative"
        : Min <= TimeSpan.FromMilliseconds(1) ? "must be greater than 0"
        : $"must be at least {GoDuration.Format(Min)}";

    public OptionError? Check(string option, TimeSpan value)
        => value >= Min ? null : new OptionError(option, GoDuration.Format(value), Requirement);
}

/// <summary>The fixed names an option accepts (same sharing as <see cref="IntegerRange"/>).</summary>
public sealed class NameSet(params string[] names)
{
    public IReadOnlyList<string> Names { get; } = names;

    public string Requirement => "allowed: " + string.Join(", ", Names);

    /// <summary>The canonical spelling of <paramref name="text"/> (case-insensitive), or null.</summary>
    public string? Find(string text)
    {
        foreach (var name in Names)
            if (string.Equals(name, text.Trim(), StringComparison.OrdinalIgnoreCase)) return name;
        return null;
    }

    public OptionError? Check(string option, string value)
    {
        foreach (var name in Names)
            if (name == value) return null;
        return new OptionError(option, value, Requirement);
    }
}
