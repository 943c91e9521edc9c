namespace XtcpEpoll.Loop.Dumps;

/// <summary>
/// The kernel-CPU model behind each namespace's choice between walking its table and looking its known
/// sockets up (design/ARCHITECTURE.md, "Known sockets"). The constants and the measurements they come from:
/// design/PERFORMANCE.md, "What the kernel charges" and "Figures behind the lane's constants".
/// </summary>
internal static class WalkCost
{
    /// <summary>One exact lookup with its reply, kernel CPU per socket at 64 or more lookups per sendmsg.</summary>
    public const double LookupNs = 2_700;

    /// <summary>What a walk spends on each socket it returns (the same attributes).</summary>
    public const double ReturnedSocketNs = 850;

    /// <summary>Per bucket of the walked table (~1 ms for the host's 262,144 empty buckets).</summary>
    public const double BucketNs = 3.8;

    /// <summary>Per socket of another namespace in a shared table (skipped by the walk).</summary>
    public const double ForeignSocketNs = 57;

    /// <summary>The host table's size here and the kernel's usual size; used when a namespace did not say (kernel &lt; 6.1).</summary>
    public const int DefaultTableBuckets = 262_144;

    /// <summary>
    /// Looking up <paramref name="connections"/> known sockets costs less than walking the table for them:
    /// connections x (lookup - returned) &lt; walks x (buckets + sockets of the table). With the host's table
    /// and no other sockets the line is ~540 connections; with 21,000 sockets on the host, ~1,190.
    /// </summary>
    /// <param name="walks">Walks one dump makes: 1 for compat, 2 for v2 (AF_INET, AF_INET6).</param>
    public static bool LookupsCheaper(int connections, int tableBuckets, long tableSockets, int walks)
        => connections * (LookupNs - ReturnedSocketNs) < walks * (tableBuckets * BucketNs + tableSockets * ForeignSocketNs);

    /// <summary>
    /// Kernel time of one full walk (ns): per walk, the table's buckets and every socket in it (the host's, for a
    /// shared table), plus the sockets it returns. What the lane's walk budget charges for a walk before its
    /// own measurement corrects it.
    /// </summary>
    public static double WalkNs(int tableBuckets, long tableSockets, int returned, int walks)
        => walks * (tableBuckets * BucketNs + tableSockets * ForeignSocketNs) + returned * ReturnedSocketNs;
}
