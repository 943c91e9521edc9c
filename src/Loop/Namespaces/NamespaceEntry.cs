using XtcpEpoll.Loop.Polling;
using XtcpEpoll.Sinks.Records;

namespace XtcpEpoll.Loop.Namespaces;

/// <summary>
/// The registry's record of one namespace (keyed by nsfs inode). Owner: the control thread; the registry writes it
/// (attribution too, <see cref="NamespaceRegistry.ApplyAttribution"/>), the poll coordinator reads it on the same thread.
/// </summary>
internal sealed class NamespaceEntry
{
    /// <summary>
    /// Record name (netns) of the daemon's own namespace: "default", the name xtcp2 gives it, so xtcp2's
    /// queries (its self-test counts netns != 'default' as container namespaces) read our records alike.
    /// </summary>
    public const string HostName = "default";

    public required ulong Inode { get; init; }
    public required string Name { get; set; }
    public bool IsHost { get; init; }
    /// <summary>Bind-mount paths currently naming it (a namespace mounted twice is still one).</summary>
    public HashSet<string> BindPaths { get; } = new();
    /// <summary>Path the opener uses (a bind path, /proc/&lt;pid&gt;/ns/net, or the host's).</summary>
    public required string OpenPath { get; set; }
    public bool FromProcScan { get; set; }
    public bool Opening { get; set; }
    public bool Failed { get; set; }
    public NamespaceHandle? Handle { get; set; }
    /// <summary>Container/pod of the namespace behind <see cref="Handle"/> (reset with every new handle).</summary>
    public RecordAttribution Attribution { get; set; } = RecordAttribution.None;
}
