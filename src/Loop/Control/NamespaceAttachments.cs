using Microsoft.Extensions.Logging;
using XtcpEpoll.Loop.Attribution;
using XtcpEpoll.Loop.Metrics;
using XtcpEpoll.Loop.Namespaces;
using XtcpEpoll.Loop.Polling;

namespace XtcpEpoll.Loop.Control;

/// <summary>
/// Carries out the registry's decisions: opens go to the opener, an opened namespace is attached to a lane
/// (and reported to attribution), a gone one detached, an unwanted socket closed; the namespace gauges follow.
/// Owners: the control thread (the registry calls it there), including the once-only warning counts.
/// </summary>
internal sealed class NamespaceAttachments : INamespaceRegistryActions
{
    private readonly PollCoordinator _polls;
    private readonly OpenerSupervisor _opener;
    private readonly AttributionService? _attribution;
    private readonly LoopStatus _status;
    private readonly ChurnCollection _churn;
    private readonly Action _initialOpensDone;
    private readonly ILogger _logger;
    private int _counterOpenWarnings;
    private int _destroySubscriptionWarnings;

    /// <param name="initialOpensDone">Called once every namespace found at start-up has answered (after the start-up log line).</param>
    public NamespaceAttachments(PollCoordinator polls, OpenerSupervisor opener, AttributionService? attribution, LoopStatus status,
        ChurnCollection churn, Action initialOpensDone, ILogger logger)
    {
        _churn = churn;
        _polls = polls;
        _opener = opener;
        _attribution = attribution;
        _status = status;
        _initialOpensDone = initialOpensDone;
        _logger = logger;
    }

    public void Open(OpenRequest request) => _opener.Enqueue(request);

    public NamespaceHandle Attach(NamespaceEntry entry, OpenResult opened)
    {
        WarnAboutMissingParts(entry, opened);
        var handle = _polls.Attach(entry, opened.SocketFd!, opened.Inode, opened.TcpEhashEntries, opened.DestroyFd, opened.Counters);
        if (!entry.IsHost) _attribution?.NamespaceOpened(entry.Inode, handle.Id);
        LoopMetrics.NamespaceOpens.Inc();
        UpdateGauges();
        return handle;
    }

    public void Detach(NamespaceHandle handle)
    {
        _polls.Detach(handle);
        _attribution?.NamespaceRemoved(handle.Inode, handle.Id);
        LoopMetrics.NamespaceDeletes.Inc();
        _churn.NamespaceClosed();
        UpdateGauges();
    }

    public void Discard(OpenResult unwanted) => unwanted.CloseSockets();

    public void InitialOpensDone()
    {
        // The coordinator's counts are the ones the gauges show: one rule (NamespaceHandle.SharesHostTable), one count.
        int open = _polls.NamespacesOpen, sharing = _polls.NamespacesSharingHostTable;
        if (sharing > 0)
            _logger.LogWarning("{Sharing} of {Open} network namespaces share the host TCP hash table: set net.ipv4.tcp_child_ehash_entries (Linux 6.1+) before creating namespaces so each gets its own TCP hash table; dumps get ~60x cheaper",
                sharing, open);
        else
            _logger.LogInformation("{Open} network namespaces open; none shares the host TCP hash table", open);
        _initialOpensDone();
    }

    /// <summary>A namespace without its destroy-event socket or its counter files is still polled: said once, then at debug.</summary>
    private void WarnAboutMissingParts(NamespaceEntry entry, OpenResult opened)
    {
        if (opened.DestroyErrno != 0 && _destroySubscriptionWarnings++ == 0)
            _logger.LogWarning("cannot subscribe network namespace {Name} to TCP destroy events (errno {Errno}): its closed sockets are not recorded (it is still polled; logged once, debug for the next ones)",
                entry.Name, opened.DestroyErrno);
        else if (opened.DestroyErrno != 0)
            _logger.LogDebug("cannot subscribe network namespace {Name} to TCP destroy events (errno {Errno})", entry.Name, opened.DestroyErrno);
        if (opened.CountersErrno == 0) return;
        LoopMetrics.TcpCounterFailuresOpen.Inc();
        if (_counterOpenWarnings++ == 0)
            _logger.LogWarning("cannot open the TCP counters (/proc/thread-self/net/sockstat, sockstat6) of network namespace {Name} (errno {Errno}): its new sockets are found only by its --walk-interval walks (logged once, debug for the next ones)",
                entry.Name, opened.CountersErrno);
        else _logger.LogDebug("cannot open the TCP counters of network namespace {Name} (errno {Errno})", entry.Name, opened.CountersErrno);
    }

    private void UpdateGauges()
    {
        _status.NamespacesOpen = _polls.NamespacesOpen;
        LoopMetrics.NamespacesOpen.Set(_polls.NamespacesOpen);
        LoopMetrics.NamespacesSharingHostTable.Set(_polls.NamespacesSharingHostTable);
    }
}
