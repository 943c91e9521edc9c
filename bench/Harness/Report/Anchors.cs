namespace XtcpEpoll.Bench.Harness.Report;

/// <summary>xtcp2's figures (shared/reference/xtcp2-reference.md) printed beside ours.</summary>
internal static class Anchors
{
    public static readonly string[] Lines =
    {
        "xtcp2 anchor: OS threads ~ namespaces x (netlinkers + 1): ~1,000 threads at 200 namespaces with the default 4 readers; crash-loops at Go's 2,000-thread cap under churn.",
        "xtcp2 anchor: ~56-60 MB RSS at a few thousand sockets.",
        "xtcp2 anchor: ~1.8 us per record to deserialize and ~0.2 us per row to marshal (~2 us/socket of userspace CPU).",
    };

    /// <summary>xtcp2's thread count at N namespaces with 4 netlinkers (the model above).</summary>
    public static int Xtcp2Threads(int namespaces) => namespaces * 5;
}
