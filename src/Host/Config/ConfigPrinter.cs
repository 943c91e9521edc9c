namespace XtcpEpoll.Host.Config;

/// <summary>
/// --print-config: one "key: value" line per option on stdout, effective values, canonical formatting,
/// secrets masked; the warnings the daemon would log at start go to stderr ("xtcp-epoll: warning: ...").
/// </summary>
public static class ConfigPrinter
{
    public static void Print(IReadOnlyList<KeyValuePair<string, string>> effective, IReadOnlyList<string> warnings, TextWriter output, TextWriter errors)
    {
        foreach (var (key, value) in effective) output.WriteLine($"{key}: {value}");
        output.Flush();
        foreach (var warning in warnings) errors.WriteLine("xtcp-epoll: warning: " + warning);
        errors.Flush();
    }
}
