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
    /// <summary>The namespace asks its lane for a full walk (budgeted): the lane answers with GrantWalk or DeferWalk.</summary>
    AwaitWalk = 8,
    /// <summary>
    /// The forwarded datagram carries NLM_F_DUMP_INTR (the table changed under the dump): its records and the
    /// rest of the namespace's records of the poll are flagged DumpIncomplete by the parse worker.
    /// </summary>
    Interrupted = 16,
}

/// <summary>
/// The outcome of one transition, applied by the lane in this order: forward the datagram, send the request,
/// end the namespace (or: it awaits a walk). Forward+Send happens (v2: AF_INET's last batch then the AF_INET6
/// request), Forward+End (the last batch) and Forward+AwaitWalk (the last lookup answer); Send+End never.
/// </summary>
internal readonly record struct DumpStep(DumpActions Actions, DumpEnd How = DumpEnd.Done)
{
    public static DumpStep None => default;
    public static DumpStep Forward => new(DumpActions.Forward);
    public static DumpStep ForwardInterrupted => new(DumpActions.Forward | DumpActions.Interrupted);
    public static DumpStep Send => new(DumpActions.Send);
    public static DumpStep Ended(DumpEnd how) => new(DumpActions.End, how);
    public static DumpStep AwaitWalk => new(DumpActions.AwaitWalk);

    public bool Forwards => (Actions & DumpActions.Forward) != 0;
    public bool Sends => (Actions & DumpActions.Send) != 0;
    public bool Ends => (Actions & DumpActions.End) != 0;
    public bool AwaitsWalk => (Actions & DumpActions.AwaitWalk) != 0;
    public bool Interrupted => (Actions & DumpActions.Interrupted) != 0;

    /// <summary>This step followed by <paramref name="next"/> (a datagram forwarded, then the next request or the end).</summary>
    public DumpStep Then(DumpStep next) => new(Actions | next.Actions, next.Ends ? next.How : How);
}
