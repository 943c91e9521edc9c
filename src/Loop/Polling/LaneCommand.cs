namespace XtcpEpoll.Loop.Polling;

/// <summary>
/// Commands the control thread posts to a lane (FIFO, so an Add always precedes a poll using it). A closed
/// set: the constructor is private, so these four are all there is.
/// </summary>
internal abstract record LaneCommand
{
    private LaneCommand() { }

    public sealed record Add(NamespaceHandle Handle) : LaneCommand;
    public sealed record Remove(NamespaceHandle Handle) : LaneCommand;
    public sealed record StartPoll(LanePlan Plan) : LaneCommand;
    public sealed record Stop : LaneCommand;
}

/// <summary>Where the control thread posts a lane's commands (a lane thread, or a test's recorder).</summary>
internal interface ILaneMailbox
{
    void Post(LaneCommand command);
}
