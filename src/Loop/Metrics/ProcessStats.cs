namespace XtcpEpoll.Loop.Metrics;

/// <summary>Reads the process's own thread count, fd count and RSS from /proc (once per poll).</summary>
public static class ProcessStats
{
    /// <summary>OS threads (/proc/self/status "Threads:").</summary>
    public static int Threads() => (int)StatusField("Threads:");

    /// <summary>Resident set size in bytes (/proc/self/status "VmRSS:" kB).</summary>
    public static long ResidentBytes() => StatusField("VmRSS:") * 1024;

    /// <summary>Open file descriptors: st_size of /proc/self/fd (Linux 6.2+, no allocation), else by listing it.</summary>
    public static int OpenFds()
    {
        long size = XtcpEpoll.Netlink.Native.Files.Stat("/proc/self/fd").Size;
        if (size > 0) return (int)size;
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
        var (threads, rssKb) = ThreadsAndRss();
        LoopMetrics.OsThreads.Set(threads);
        LoopMetrics.OpenFds.Set(OpenFds());
        LoopMetrics.ResidentMemory.Set(rssKb * 1024);
    }

    /// <summary>Both fields from one read of /proc/self/status.</summary>
    private static (int Threads, long RssKb) ThreadsAndRss()
    {
        int threads = 0;
        long rss = 0;
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("Threads:", StringComparison.Ordinal)) threads = (int)FieldValue(line, "Threads:".Length);
            else if (line.StartsWith("VmRSS:", StringComparison.Ordinal)) rss = FieldValue(line, "VmRSS:".Length);
        }
        return (threads, rss);
    }

    private static long FieldValue(string line, int start)
    {
        var text = line.AsSpan(start).Trim();
        int space = text.IndexOf(' ');
        return long.Parse(space > 0 ? text[..space] : text);
    }

    private static long StatusField(string name)
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith(name, StringComparison.Ordinal)) return FieldValue(line, name.Length);
        }
        return 0;
    }
}

/// <summary>CPU time of one thread of this process (from /proc/self/task/&lt;tid&gt;/stat), in clock ticks.</summary>
public readonly record struct ThreadCpu(string Name, int Tid, long UserTicks, long SystemTicks)
{
    /// <summary>Every thread whose name starts with <paramref name="prefix"/>.</summary>
    public static List<ThreadCpu> Read(string prefix)
    {
        var list = new List<ThreadCpu>();
        foreach (var task in Directory.EnumerateDirectories("/proc/self/task"))
        {
            try
            {
                var stat = File.ReadAllText(Path.Combine(task, "stat"));
                int open = stat.IndexOf('('), close = stat.LastIndexOf(')');
                var name = stat[(open + 1)..close];
                if (!name.StartsWith(prefix, StringComparison.Ordinal)) continue;
                // Fields after "(comm) ": state is field 3; utime is field 14, stime field 15.
                var fields = stat[(close + 2)..].Split(' ');
                list.Add(new ThreadCpu(name, int.Parse(Path.GetFileName(task)), long.Parse(fields[11]), long.Parse(fields[12])));
            }
            catch (IOException) { } // thread exited while listing
        }
        return list;
    }
}
