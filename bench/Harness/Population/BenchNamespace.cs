namespace XtcpEpoll.Bench.Harness.Population;

/// <summary>One namespace the harness created: where it is mounted, its inode, and when it existed.</summary>
internal sealed class BenchNamespace
{
    public required string Name { get; init; }
    public required string Path { get; init; }
    public required ulong Inode { get; init; }
    /// <summary>Unix ns when the namespace file and all its sockets existed.</summary>
    public long ReadyNs { get; set; }
    /// <summary>Unix ns when deletion started (0 while alive).</summary>
    public long DeletedNs { get; set; }
    public int Sockets { get; set; }
}
