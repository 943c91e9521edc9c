using Prometheus;

namespace XtcpEpoll.Host.Metrics;

/// <summary>
/// xtcp_os_threads, xtcp_open_fds and xtcp_resident_memory_bytes, read from /proc on every scrape (no
/// timer thread). The thread count is the design's headline number: it must stay flat with namespaces.
/// </summary>
public static class ProcessGauges
{
    private static readonly Gauge Threads = Prometheus.Metrics.CreateGauge("xtcp_os_threads", "OS threads of this process (/proc/self/status Threads).");
    private static readonly Gauge OpenFds = Prometheus.Metrics.CreateGauge("xtcp_open_fds", "Open file descriptors of this process (/proc/self/fd).");
    private static readonly Gauge Resident = Prometheus.Metrics.CreateGauge("xtcp_resident_memory_bytes", "Resident set size in bytes (/proc/self/status VmRSS).");
    private static int _registered;

    /// <summary>Hooks the refresh into the default registry's collection (idempotent).</summary>
    public static void Register()
    {
        if (Interlocked.Exchange(ref _registered, 1) == 1) return;
        Prometheus.Metrics.DefaultRegistry.AddBeforeCollectCallback(Refresh);
    }

    public static void Refresh()
    {
        var status = ReadStatus();
        Threads.Set(status.Threads);
        Resident.Set(status.ResidentBytes);
        OpenFds.Set(CountOpenFds());
    }

    public static (long Threads, long ResidentBytes) ReadStatus()
    {
        long threads = 0, rss = 0;
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("Threads:", StringComparison.Ordinal))
                threads = ParseNumber(line.AsSpan("Threads:".Length));
            else if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                rss = ParseNumber(line.AsSpan("VmRSS:".Length)) * 1024; // "VmRSS:  12345 kB"
        }
        return (threads, rss);
    }

    public static int CountOpenFds()
    {
        var count = 0;
        foreach (var _ in Directory.EnumerateFileSystemEntries("/proc/self/fd")) count++;
        return count - 1; // the enumeration's own directory handle
    }

    private static long ParseNumber(ReadOnlySpan<char> text)
    {
        text = text.Trim();
        var end = 0;
        while (end < text.Length && char.IsAsciiDigit(text[end])) end++;
        return long.TryParse(text[..end], out var value) ? value : 0;
    }
}
