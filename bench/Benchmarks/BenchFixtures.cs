using XtcpEpoll.Bench.Harness.Collector;

namespace XtcpEpoll.Bench.Benchmarks;

/// <summary>The curated kernel captures the benchmarks read: tests/fixtures/netlink inside the repository.</summary>
internal static class BenchFixtures
{
    public static string Capture(string relative)
        => Path.Combine(CollectorBinary.RepoRoot(), "tests", "fixtures", "netlink", relative);
}
