using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Tmds.Linux;
using XtcpEpoll.Loop.Dumps;
using XtcpEpoll.Loop.Metrics;
using XtcpEpoll.Loop.Namespaces;
using XtcpEpoll.Netlink.Native;
using XtcpEpoll.Netlink.Parsing;

namespace XtcpEpoll.Loop.Polling;

/// <summary>
/// A lane's part of the running poll: whose turn it is to send (<see cref="SendPacer"/>), which walks are
/// served (<see cref="WalkQueue"/>), and the carrying out of each namespace's <see cref="DumpStep"/>s (forward
/// the datagram, send the requests, end the namespace with its NamespaceEnd frame). The poll itself ends at
/// ONE point, <see cref="EndIfOver"/>, which the lane calls after each command and each epoll event: a step
/// never ends the poll under a loop that walks the plan's namespaces, so no loop needs to ask whether its
/// poll is still running. Owner: the lane thread (all fields).
/// </summary>
internal sealed class LanePoll(int laneIndex, DumpContext dumps, FrameWriter frames, PlanSlot planSlot, TimerFd deadlineTimer, TimerFd spreadTimer, ILogger logger)
{
    private readonly SendPacer _pacer = new();
    private readonly WalkQueue _walks = new();
    private LanePlan? _plan;
    /// <summary>Namespaces of the plan whose part of the poll has not ended yet.</summary>
    private int _remaining;
    private bool _counterFailureLogged;

    public void Start(LanePlan plan)
    {
        _plan = plan;
        frames.PollId = plan.PollId;
        _remaining = 0;
        _walks.StartPoll(plan.Deadline, plan.TimeoutTicks > 0 ? plan.TimeoutTicks : plan.Deadline - plan.StartTimestamp);
        dumps.HostSockets = plan.HostSockets;
        planSlot.Publish(plan);
        var targets = plan.Targets;
        for (int i = 0; i < targets.Length; i++)
        {
            var handle = targets[i];
            handle.PollIndex = handle.Removed ? -1 : i;
            if (!handle.Removed) _remaining++;
        }
        // Once every target is counted: a namespace still discarding ends here (a timeout) without ending the poll.
        for (int i = 0; i < targets.Length; i++)
            if (targets[i].PollIndex == i) Apply(targets[i], targets[i].Dump.Schedule());

        long now = Stopwatch.GetTimestamp();
        ArmAt(deadlineTimer, plan.Deadline, now);
        _pacer.StartPoll(targets.Length, plan.SendInterval, now);
        if (_pacer.Spreads) SendDueTurns();
        else PumpSends();
    }

    /// <summary>All at once: keeps up to <see cref="SendPacer.MaxInFlight"/> dumps running; called after every epoll batch.</summary>
    public void PumpSends()
    {
        if (_plan is not { } plan || _pacer.Spreads) return;
        var targets = plan.Targets;
        long now = Stopwatch.GetTimestamp();
        while (_pacer.TryNextTurn(now, out int i))
            if (IsWaiting(targets[i], i)) StartDump(targets[i]);
        if (_walks.ShouldServe(_pacer.AllTurnsTaken, _remaining)) ServeWalks(plan);
    }

    /// <summary>--spread: sends every namespace whose turn has come, then arms the timer for the next turn.</summary>
    public void SendDueTurns()
    {
        if (_plan is not { } plan) return;
        long now = Stopwatch.GetTimestamp();
        while (_pacer.TryNextTurn(now, out int i))
            if (IsWaiting(plan.Targets[i], i)) StartDump(plan.Targets[i]);
        if (_pacer.NextTurnAt(out long at)) ArmAt(spreadTimer, at, now);
    }

    /// <summary>The poll's deadline: a namespace waiting for a walk is deferred (its lookups are done), the others end as the dump says.</summary>
    public void OnDeadline()
    {
        if (_plan is not { } plan) return;
        var targets = plan.Targets;
        for (int i = 0; i < targets.Length; i++)
        {
            if (IsAwaitingWalk(targets[i], i)) DeferWalk(targets[i]);
            else if (targets[i].PollIndex == i) Apply(targets[i], targets[i].Dump.OnDeadline());
        }
    }

    /// <summary>The namespace's handle leaves the lane: a dump in the poll is abandoned.</summary>
    public void Remove(NamespaceHandle handle)
    {
        if (handle.Dump.State == DumpState.AwaitingWalk) _walks.Left();
        Apply(handle, handle.Dump.OnRemoved());
    }

    /// <summary>
    /// The one point where the lane's poll ends: once its last namespace has ended, the LaneDone frame with the
    /// poll's counts (the parse worker reports it to the control thread) and the timers disarmed.
    /// </summary>
    public void EndIfOver()
    {
        if (_plan == null || _remaining > 0) return;
        ThreadAllocations.RecordCurrentThread();
        frames.LaneDone(dumps.TakeCounts());
        deadlineTimer.Disarm();
        spreadTimer.Disarm();
        _walks.EndPoll();
        _pacer.EndPoll();
        _plan = null;
        frames.PollId = 0;
        frames.Flush();
    }

    /// <summary>
    /// Carries out a dump's step: forward the datagram just read into <paramref name="frame"/> (its header goes
    /// in front of it, no copy), send the requests the dump wrote, end the namespace's part of the poll, or
    /// queue it for a walk.
    /// </summary>
    public void Apply(NamespaceHandle handle, DumpStep step, Span<byte> frame = default, int length = 0)
    {
        if (step.Forwards) frames.Datagram(frame, handle.PollIndex, length, step.Interrupted);
        if (step.Sends)
        {
            var request = dumps.Requests.Written;
            int sent = NetlinkSocket.Send(handle.SocketFd, request);
            if (sent != request.Length)
            {
                int errno = sent < 0 ? -sent : LibC.EMSGSIZE;
                logger.LogWarning("lane {Lane}: send to namespace {Name} failed: errno {Errno}", laneIndex, handle.Name, errno);
                step = handle.Dump.OnSendFailed(errno);
            }
        }
        if (step.Ends) EndDump(handle, step.How);
        else if (step.AwaitsWalk) OnAwaitWalk(handle);
    }

    // ---------------------------------------------------------------- walks

    /// <summary>Grants the waiting walks in the budget's order while in-flight slots are free; what does not fit is deferred.</summary>
    private void ServeWalks(LanePlan plan)
    {
        var targets = plan.Targets;
        long now = Stopwatch.GetTimestamp();
        while (_pacer.HasFreeSlot && _walks.TryNext(now, out int i, out bool grant))
        {
            if (!IsAwaitingWalk(targets[i], i)) continue;
            if (grant) GrantWalk(targets[i]);
            else DeferWalk(targets[i]);
        }
    }

    /// <summary>A namespace finished its lookups and asks for a full walk: a budget candidate.</summary>
    private void OnAwaitWalk(NamespaceHandle handle)
    {
        ReleaseInFlight(handle);
        var dump = handle.Dump;
        _walks.Add(handle.PollIndex, dump.UnknownSockets, dump.LastWalk, dump.WalkCostNs);
        if (!_pacer.Spreads) return; // served in order once every namespace has done its lookups (PumpSends)
        if (_walks.GrantAlone(Stopwatch.GetTimestamp())) GrantWalk(handle);
        else DeferWalk(handle);
    }

    private void GrantWalk(NamespaceHandle handle)
    {
        _walks.Left();
        handle.InFlight = true;
        _pacer.Acquire();
        Apply(handle, handle.Dump.GrantWalk());
    }

    private void DeferWalk(NamespaceHandle handle)
    {
        _walks.Left();
        Apply(handle, handle.Dump.DeferWalk());
    }

    // ---------------------------------------------------------------- dumps

    private static bool IsWaiting(NamespaceHandle handle, int index) => handle.PollIndex == index && handle.Dump.State == DumpState.Scheduled;

    private static bool IsAwaitingWalk(NamespaceHandle handle, int index) => handle.PollIndex == index && handle.Dump.State == DumpState.AwaitingWalk;

    private void StartDump(NamespaceHandle handle)
    {
        handle.InFlight = true;
        _pacer.Acquire();
        Apply(handle, handle.Dump.Start(_plan!.StartTimestamp, ReadTcpCounters(handle)));
    }

    /// <summary>
    /// The namespace's TCP counters, read just before its requests go out (so a socket made after the read is
    /// found by the next poll, never hidden); null when it has none or they cannot be read now (counted; the
    /// namespace then finds new sockets at its interval walks).
    /// </summary>
    private TcpSocketCount? ReadTcpCounters(NamespaceHandle handle)
    {
        if (handle.Counters is not { } counters || !dumps.Settings.UsesTcpCounters) return null;
        var result = counters.Read(out var count);
        if (result == CounterReadResult.Ok) return count;
        dumps.Counts.CountCounterFailure(parse: result == CounterReadResult.Parse);
        if (!_counterFailureLogged)
        {
            _counterFailureLogged = true;
            logger.LogWarning("lane {Lane}: cannot {What} the TCP counters of namespace {Name}; this poll finds its new sockets only if it walks (logged once per lane; counted in xtcp_tcp_counter_failures_total)",
                laneIndex, result == CounterReadResult.Parse ? "parse" : "read", handle.Name);
        }
        return null;
    }

    /// <summary>Writes the namespace's end frame; the poll ends with its last namespace, at <see cref="EndIfOver"/>.</summary>
    private void EndDump(NamespaceHandle handle, DumpEnd how)
    {
        if (handle.InFlight) _walks.WalkEnded(handle.PollIndex, Stopwatch.GetTimestamp());
        ReleaseInFlight(handle);
        int index = handle.PollIndex;
        if (index < 0 || _plan == null) return;
        handle.PollIndex = -1;
        frames.NamespaceEnd(index, how);
        _remaining--;
    }

    private void ReleaseInFlight(NamespaceHandle handle)
    {
        if (!handle.InFlight) return;
        handle.InFlight = false;
        _pacer.Release();
    }

    private static void ArmAt(TimerFd timer, long stopwatchTimestamp, long now)
    {
        long delta = Math.Max(1, stopwatchTimestamp - now);
        timer.ArmOnce(TimeSpan.FromSeconds(delta / (double)Stopwatch.Frequency));
    }
}
