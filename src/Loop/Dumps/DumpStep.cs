namespace XtcpEpoll.Loop.Dumps;

/// <summary>What the lane does after a <see cref="NamespaceDump"/> transition (several may be set).</summary>
[Flags]
internal enum DumpActions : byte
{
    None = 0,
    /// <summary>Pass the datagram just handled to the parse worker (it carries socket records of this dump).</summary>
    Forward = 1,
    /// <summary>Send the lane's <see cref="RequestBuffer"/> (written by the dump) on the namespace's socket, in one sendmsg.</summary>
    Send = 2,
    /// <summary>The namespace's part of the poll is over, as <see cref="DumpStep.How"/> says.</summary>
    End = 4,
}

/// <summary>
/// The outcome of one transition, applied by the lane in this order: forward the datagram, send the request,
/// end the namespace. Forward+Send happens (v2: AF_INET's last batch then the AF_INET6 request) and
/// Forward+End (the last batch); Send+End never.
/// </summary>
internal readonly record struct DumpStep(DumpActions Actions, DumpEnd How = DumpEnd.Done)
{
    public static DumpStep None => default;
    public static DumpStep Forward => new(DumpActions.Forward);
    public static DumpStep Send => new(DumpActions.Send);
    public static DumpStep Ended(DumpEnd how) => new(DumpActions.End, how);

    public bool Forwards => (Actions & DumpActions.Forward) != 0;
    public bool Sends => (Actions & DumpActions.Send) != 0;
    public bool Ends => (Actions & DumpActions.End) != 0;

    /// <summary>This step followed by <paramref name="next"/> (a datagram forwarded, then the next request or the end).</summary>
    public DumpStep Then(DumpStep next) => new(Actions | next.Actions, next.Ends ? next.How : How);
}
