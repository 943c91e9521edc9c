namespace XtcpEpoll.Bench.Harness.Infra;

internal static class Clock
{
    /// <summary>Wall-clock Unix time in ns: the same clock the collector stamps records with.</summary>
    public static long UnixNs() => (DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) * 100;
}
