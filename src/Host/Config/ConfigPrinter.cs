namespace XtcpEpoll.Host.Config;

/// <summary>--print-config: one "key: value" line per option, effective values, canonical formatting.</summary>
public static class ConfigPrinter
{
    public static void Print(IReadOnlyList<KeyValuePair<string, string>> effective, TextWriter output)
    {
        foreach (var (key, value) in effective) output.WriteLine($"{key}: {value}");
        output.Flush();
    }
}
