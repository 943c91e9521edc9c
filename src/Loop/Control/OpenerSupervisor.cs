using Microsoft.Extensions.Logging;
using XtcpEpoll.Loop.Metrics;
using XtcpEpoll.Loop.Namespaces;

namespace XtcpEpoll.Loop.Control;

/// <summary>
/// Keeps one working namespace opener. An opener that could not get back to its own namespace is abandoned
/// and a fresh one started, which gets the requests the old one left unserved; after
/// <see cref="MaxRestarts"/> replacements the collector stops (setns home keeps failing: something is badly
/// wrong with the host, and an opener away from home must never serve). Owners: the control thread calls
/// every public member; the openers call <see cref="IOpenerReports"/> on their own thread, which only posts to
/// the control thread's mailbox.
/// </summary>
internal sealed class OpenerSupervisor : IOpenerReports, IDisposable
{
    public const int MaxRestarts = 3;

    private readonly Func<IOpenerReports, IOpenerThread> _create;
    private readonly Action<ControlCommand> _post;
    private readonly ILogger _logger;
    /// <summary>Control thread: the opener that serves requests now.</summary>
    private IOpenerThread _current;

    /// <param name="create">Makes an opener (not started) that reports to the given reports.</param>
    /// <param name="post">Posts the openers' reports to the control thread.</param>
    public OpenerSupervisor(Func<IOpenerReports, IOpenerThread> create, Action<ControlCommand> post, ILogger logger)
    {
        _create = create;
        _post = post;
        _logger = logger;
        _current = create(this);
    }

    /// <summary>Openers abandoned so far (control thread).</summary>
    public int Restarts { get; private set; }

    /// <summary>Starts the first opener (throws if its thread cannot find its own namespace).</summary>
    public void Start() => _current.Start();

    public void Enqueue(OpenRequest request) => _current.Enqueue(request);

    void IOpenerReports.Opened(OpenResult result) => _post(new ControlCommand.Opened(result));

    void IOpenerReports.Poisoned(IOpenerThread opener, List<OpenRequest> pending) => _post(new ControlCommand.OpenerPoisoned(opener, pending));

    /// <summary>
    /// Control thread: <paramref name="opener"/> could not get home. A report from an opener already replaced
    /// is ignored; otherwise it is replaced (or, past <see cref="MaxRestarts"/>, this throws: the loop stops with that fault).
    /// </summary>
    public void OnPoisoned(IOpenerThread opener, List<OpenRequest> pending)
    {
        if (!ReferenceEquals(opener, _current)) return;
        LoopMetrics.NamespaceOpenerRestarts.Inc();
        _logger.LogError("namespace opener thread could not return to its own namespace; it is abandoned and a new one started");
        opener.Dispose();
        if (++Restarts > MaxRestarts)
            throw new InvalidOperationException($"namespace opener poisoned {Restarts} times: setns back to the original namespace keeps failing");
        _current = _create(this);
        _current.Start();
        foreach (var request in pending) _current.Enqueue(request);
    }

    public void Dispose() => _current.Dispose();
}
