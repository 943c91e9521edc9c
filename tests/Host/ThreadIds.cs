namespace XtcpEpoll.Tests.Host;

/// <summary>A process's threads by id, with their names (/proc/PID/task/*/comm), to see which ones appeared.</summary>
public static class ThreadIds
{
    /// <summary>This process's threads.</summary>
    public static Dictionary<int, string> Of() => Of("self");

    public static Dictionary<int, string> Of(int pid) => Of(pid.ToString(System.Globalization.CultureInfo.InvariantCulture));

    private static Dictionary<int, string> Of(string pid)
    {
        var threads = new Dictionary<int, string>();
        foreach (var task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
        {
            try { threads[int.Parse(Path.GetFileName(task))] = File.ReadAllText(Path.Combine(task, "comm")).TrimEnd('\n'); }
            catch (IOException) { } // exited while listing
        }
        return threads;
    }

    /// <summary>"tid:name" of each thread in <paramref name="after"/> that was not in <paramref name="before"/>.</summary>
    public static List<string> Added(Dictionary<int, string> before, Dictionary<int, string> after) =>
        after.Where(t => !before.ContainsKey(t.Key)).Select(t => $"{t.Key}:{t.Value}").ToList();
}
