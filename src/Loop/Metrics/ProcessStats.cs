namespace XtcpEpoll.Loop.Metrics;

/// <summary>Reads the process's own thread count, fd count and RSS from /proc (once per poll).</summary>
public static class ProcessStats
{
    /// <summary>OS threads (/proc/self/status "Threads:").</summary>
    public static int Threads() => (int)StatusField("Threads:");

    /// <summary>Resident set size in bytes (/proc/self/status "VmRSS:" kB).</summary>
    public static long ResidentBytes() => StatusField("VmRSS:") * 1024;

    /// <summary>Open file descriptors (entries of /proc/self/fd, minus the one used to list it).</summary>
    public static int OpenFds()
    {
        int count = 0;
        foreach (var _ in Directory.EnumerateFileSystemEntries("/proc/self/fd")) count++;
        return count - 1;
    }

    /// <summary>Names of this process's threads (/proc/self/task/*/comm).</summary>
    public static List<string> ThreadNames()
    {
        var names = new List<string>();
        foreach (var task in Directory.EnumerateDirectories("/proc/self/task"))
        {
            try { names.Add(File.ReadAllText(Path.Combine(task, "comm")).TrimEnd('\n')); }
            catch (IOException) { } // thread exited while listing
        }
        return names;
    }

    public static void Publish()
    {
        LoopMetrics.OsThreads.Set(Threads());
        LoopMetrics.OpenFds.Set(OpenFds());
        LoopMetrics.ResidentMemory.Set(ResidentBytes());
    }

    private static long StatusField(string name)
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (!line.StartsWith(name, StringComparison.Ordinal)) continue;
            var text = line.AsSpan(name.Length).Trim();
            int space = text.IndexOf(' ');
            if (space > 0) text = text[..space];
            return long.Parse(text);
        }
        return 0;
    }
}
