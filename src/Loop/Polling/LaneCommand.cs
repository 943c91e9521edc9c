namespace XtcpEpoll.Loop.Polling;

/// <summary>Commands the control thread posts to a lane (FIFO, so an Add always precedes a poll using it).</summary>
internal abstract record LaneCommand
{
    public sealed record Add(NamespaceHandle Handle) : LaneCommand;
    public sealed record Remove(NamespaceHandle Handle) : LaneCommand;
    public sealed record StartPoll(LanePlan Plan) : LaneCommand;
    public sealed record Stop : LaneCommand;
}
