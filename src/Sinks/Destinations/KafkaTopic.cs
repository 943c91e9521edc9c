using XtcpEpoll.Sinks.Options;

namespace XtcpEpoll.Sinks.Destinations;

/// <summary>
/// Kafka's own rule for topic names (1-249 characters of [a-zA-Z0-9._-], not "." or ".."). Checked before
/// start-up: a broker refuses a bad name at the first produce, and every envelope would be dropped.
/// </summary>
public static class KafkaTopic
{
    public const int MaxLength = 249;

    public static OptionError? Check(string option, string topic)
    {
        if (topic.Length is 0 or > MaxLength)
            return new OptionError(option, topic, $"must be 1 to {MaxLength} characters");
        if (topic is "." or "..")
            return new OptionError(option, topic, "must not be \".\" or \"..\"");
        foreach (var c in topic)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('.' or '_' or '-'))
                return new OptionError(option, topic, "may contain only letters, digits, '.', '_' and '-' (Kafka's topic name rule)");
        }
        return null;
    }
}
