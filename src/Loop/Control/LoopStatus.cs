using Microsoft.Extensions.Logging;

namespace XtcpEpoll.Loop.Control;

/// <summary>
/// What the collector shows of its control loop to other threads. Owners: written by the control thread only
/// (and completed by whoever stops a collector that never started), read by any thread.
/// </summary>
internal sealed class LoopStatus
{
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _namespacesOpen;
    private long _pollsCompleted;

    /// <summary>Completes when the loop has stopped (after MaxLoops polls, a stop request or a fault).</summary>
    public Task Completion => _completion.Task;

    /// <summary>Namespaces with an open, verified socket.</summary>
    public int NamespacesOpen
    {
        get => Volatile.Read(ref _namespacesOpen);
        set => Volatile.Write(ref _namespacesOpen, value);
    }

    /// <summary>Polls ended so far.</summary>
    public long PollsCompleted
    {
        get => Volatile.Read(ref _pollsCompleted);
        set => Volatile.Write(ref _pollsCompleted, value);
    }

    /// <summary>Raised on the control thread after each poll's EndOfPoll.</summary>
    public event Action<PollSummary>? PollCompleted;

    /// <summary>Tells the subscribers; a failing handler is logged, it does not stop the loop.</summary>
    public void RaisePollCompleted(PollSummary summary, ILogger logger)
    {
        try { PollCompleted?.Invoke(summary); }
        catch (Exception ex) { logger.LogError(ex, "a PollCompleted handler failed"); }
    }

    public void Complete(Exception? fault)
    {
        if (fault != null) _completion.TrySetException(fault);
        else _completion.TrySetResult();
    }
}
