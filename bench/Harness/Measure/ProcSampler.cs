using System.Globalization;

namespace XtcpEpoll.Bench.Harness.Measure;

/// <summary>One look at a process from /proc: threads, memory, fds and CPU.</summary>
internal readonly record struct ProcSample(
    long AtNs, int Threads, long RssKb, int OpenFds, long UserTicks, long SysTicks, long RunNs)
{
    public const double TicksPerSecond = 100; // USER_HZ

    /// <summary>
    /// CPU between two samples split into user and sys. The total comes from schedstat (ns precision, sum over
    /// live threads); the split from utime/stime (tick-sampled, 10 ms). With fewer than 10 ticks in the window
    /// the split is unknown and both parts are NaN.
    /// </summary>
    public static (double TotalSec, double UserSec, double SysSec) CpuBetween(ProcSample a, ProcSample b)
    {
        double ticks = b.UserTicks - a.UserTicks + (b.SysTicks - a.SysTicks);
        double tickSec = ticks / TicksPerSecond;
        double total = b.RunNs > 0 && a.RunNs > 0 ? (b.RunNs - a.RunNs) / 1e9 : tickSec;
        // Threads that exited in the window took their schedstat with them; never report less than the ticks say.
        if (total < tickSec - 0.02) total = tickSec;
        // Fewer than 10 ticks (100 ms) in the window: the tick-sampled split says little; leave it unknown.
        if (ticks < 10) return (total, double.NaN, double.NaN);
        double userShare = (b.UserTicks - a.UserTicks) / ticks;
        return (total, total * userShare, total * (1 - userShare));
    }
}

internal static class ProcSampler
{
    public static ProcSample? TrySample(int pid)
    {
        try { return Sample(pid); }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }

    public static ProcSample Sample(int pid)
    {
        long at = Infra.Clock.UnixNs();
        int threads = 0; long rss = 0;
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("Threads:", StringComparison.Ordinal)) threads = int.Parse(line[8..].Trim(), CultureInfo.InvariantCulture);
            else if (line.StartsWith("VmRSS:", StringComparison.Ordinal)) rss = long.Parse(line[6..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
        }
        var (user, sys) = ReadStatTicks($"/proc/{pid}/stat");
        long run = 0;
        foreach (var task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
        {
            try
            {
                string s = File.ReadAllText(Path.Combine(task, "schedstat"));
                run += long.Parse(s.AsSpan(0, s.IndexOf(' ')), CultureInfo.InvariantCulture);
            }
            catch (IOException) { } // thread exited meanwhile
        }
        int fds = Directory.EnumerateFileSystemEntries($"/proc/{pid}/fd").Count();
        return new ProcSample(at, threads, rss, fds, user, sys, run);
    }

    /// <summary>utime and stime (fields 14 and 15) of /proc/PID/stat; the comm field may contain spaces.</summary>
    public static (long User, long Sys) ReadStatTicks(string path)
    {
        string stat = File.ReadAllText(path);
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        // fields[0] is field 3 (state), so field 14 is index 11.
        return (long.Parse(fields[11], CultureInfo.InvariantCulture), long.Parse(fields[12], CultureInfo.InvariantCulture));
    }
}
