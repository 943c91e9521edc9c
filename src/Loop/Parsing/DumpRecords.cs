namespace XtcpEpoll.Loop.Parsing;

/// <summary>
/// What one namespace's dump has produced so far, for <see cref="DumpDecoder"/>: the cookies already emitted
/// (a socket is reported once per dump even when the kernel sends it twice: a v2 walk after lookups, a
/// socket moving between hash chains during the walk), the record counter, and whether the kernel flagged
/// the dump NLM_F_DUMP_INTR. Reused across dumps (<see cref="Reset"/>): its set keeps its capacity.
/// Owner: the parse worker's thread (or replay's), like the <see cref="DumpDecoder"/> it is handed to.
/// </summary>
public sealed class DumpRecords
{
    internal readonly HashSet<ulong> Cookies = new();

    /// <summary>Records numbered so far (the next record's RecordCounter).</summary>
    public ulong Counter { get; internal set; }

    /// <summary>The dump is inconsistent (NLM_F_DUMP_INTR: the lane's frame said so, or replay read it): this and every later record is DumpIncomplete.</summary>
    public bool Incomplete { get; internal set; }

    /// <summary>--emit changed: the namespace's fingerprints, which decide what this dump emits; null = emit all.</summary>
    public XtcpEpoll.Loop.Changes.FingerprintTable? Changes { get; set; }

    /// <summary>
    /// The namespace's owners for destroy records, when it keeps them (no owner of its own, destroy events and
    /// attribution on): a socket its own cgroup attributes is remembered there. Null = none kept.
    /// </summary>
    public DestroyOwners? Owners { get; set; }

    public void Reset()
    {
        Cookies.Clear();
        Counter = 0;
        Incomplete = false;
        Changes = null;
        Owners = null;
    }
}
