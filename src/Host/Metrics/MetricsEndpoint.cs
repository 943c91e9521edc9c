using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.Logging;
using Prometheus;
using Tmds.Linux;
using XtcpEpoll.Host.Metrics.Http;
using XtcpEpoll.Netlink.Native;
using static Tmds.Linux.LibC;

namespace XtcpEpoll.Host.Metrics;

/// <summary>
/// /metrics, /healthz and /readyz on ONE dedicated thread ("xtcp-metrics") running an epoll loop over a
/// non-blocking listener, its connections, and an eventfd that stops it. HttpListener and Kestrel bring
/// thread-pool I/O and timers, and even one System.Net.Sockets.Socket starts .NET's socket-engine thread;
/// the daemon's OS-thread budget is small and must not grow.
/// The loop never waits on a client: reads and writes stop at EAGAIN and resume on the next epoll edge, so
/// a client that connects and sends nothing, half a request line, or never reads its response holds one
/// slot (<see cref="MetricsEndpointLimits"/>) until its deadline, while every other client is served as
/// soon as its bytes arrive. One request per connection ("Connection: close"), as Prometheus scrapes.
/// </summary>
public sealed class MetricsEndpoint : IDisposable
{
    private const ulong StopKey = ulong.MaxValue, ListenerKey = ulong.MaxValue - 1;
    /// <summary>
    /// Connections taken from the backlog per listener event before the ready connections are served: a burst
    /// (or a flood refused at the cap) cannot starve the requests already in. Level-triggered, the listener is
    /// reported again while its backlog is not empty.
    /// </summary>
    private const int AcceptsPerEvent = 16;
    /// <summary>Kernel backlog: one burst of the maximum connections can wait there while the loop catches up.</summary>
    private const int Backlog = 64;
    /// <summary>
    /// After EMFILE/ENFILE/ENOBUFS/ENOMEM the listener stays readable; watched level-triggered it would spin the
    /// loop. It leaves the epoll set for this long (the fd limit is per process: the collector's namespace
    /// opens and closes are what frees fds, on their own schedule).
    /// </summary>
    private static readonly TimeSpan AcceptPause = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan ErrorLogInterval = TimeSpan.FromMinutes(1);
    /// <summary>Connections: read and write readiness, edge-triggered, one registration for both phases.</summary>
    private static readonly int ConnectionEvents = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;

    private readonly RawTcpListener _listener;
    private readonly MetricsEndpointLimits _limits;
    private readonly MetricsRoutes _routes;
    private readonly ILogger _logger;
    private readonly Epoll _epoll;
    private readonly EventFd _stopFd;
    private readonly Thread _thread;
    private readonly Dictionary<ulong, HttpConnection> _connections = new();
    private readonly List<HttpConnection> _expired = new();
    private readonly byte[] _scratch = new byte[4096];
    private readonly long _requestTimeoutTicks, _responseTimeoutTicks;
    private ulong _nextKey;
    private long _acceptResumeAt; // 0 = the listener is watched
    private long _lastAcceptErrorLog;
    private int _open, _responding;

    private MetricsEndpoint(RawTcpListener listener, HealthState health, ILogger logger, MetricsEndpointLimits limits, CollectorRegistry registry)
    {
        _listener = listener;
        _limits = limits;
        _logger = logger;
        _routes = new MetricsRoutes(health, registry, logger);
        _requestTimeoutTicks = MonotonicClock.Ticks(limits.RequestTimeout);
        _responseTimeoutTicks = MonotonicClock.Ticks(limits.ResponseTimeout);
        _epoll = Epoll.Create();
        _stopFd = EventFd.Create();
        _epoll.Add(_stopFd.Handle, StopKey);
        _epoll.Add(_listener.Handle, ListenerKey);
        _thread = new Thread(Run) { IsBackground = true, Name = "xtcp-metrics" };
        // Its series (zeros included) are in the first scrape, not only after the first event.
        GC.KeepAlive(EndpointMetrics.ConnectionsAccepted); // runs its initializer (HostMetrics.Initialize says why)
    }

    /// <summary>The bound address (port resolved when 0 was asked for).</summary>
    public IPEndPoint LocalEndPoint => _listener.LocalEndPoint;

    /// <summary>Connections held now: reading a request head or writing a response.</summary>
    public int OpenConnections => Volatile.Read(ref _open);

    /// <summary>Of <see cref="OpenConnections"/>, those whose response is built and waiting for the client to take it.</summary>
    public int RespondingConnections => Volatile.Read(ref _responding);

    /// <summary>Binds and starts serving the default registry. Throws IOException naming the address when it cannot be bound.</summary>
    public static MetricsEndpoint Start(IPEndPoint endpoint, HealthState health, ILogger logger) =>
        Start(endpoint, health, logger, MetricsEndpointLimits.Default, Prometheus.Metrics.DefaultRegistry);

    /// <summary>As <see cref="Start(IPEndPoint, HealthState, ILogger)"/> with explicit limits and the registry /metrics renders.</summary>
    public static MetricsEndpoint Start(IPEndPoint endpoint, HealthState health, ILogger logger, MetricsEndpointLimits limits, CollectorRegistry registry)
    {
        if (limits.Validate() is { } error) throw new ArgumentException(error, nameof(limits));
        var listener = RawTcpListener.Listen(endpoint, Backlog);
        MetricsEndpoint server;
        try
        {
            server = new MetricsEndpoint(listener, health, logger, limits, registry);
        }
        catch
        {
            listener.Dispose();
            throw;
        }
        server._thread.Start();
        return server;
    }

    private void Run()
    {
        Span<epoll_event> events = stackalloc epoll_event[64];
        try
        {
            while (true)
            {
                int n = _epoll.WaitUntil(events, NextWake(), "metrics");
                for (int i = 0; i < n; i++)
                {
                    ulong key = Epoll.Key(events[i]);
                    if (key == StopKey) return;
                    if (key == ListenerKey) AcceptReady();
                    // A key not found is a connection closed earlier in this batch: its event is stale.
                    else if (_connections.TryGetValue(key, out var connection)) Advance(connection);
                }
                ExpireDeadlines();
            }
        }
        catch (Exception e)
        {
            // A bug, not a client: log it and close the listener below, so probes are refused (and the
            // orchestrator sees it) instead of queueing in a backlog nobody accepts from.
            _logger.LogCritical(e, "metrics endpoint stopped serving");
        }
        finally
        {
            foreach (var connection in new List<HttpConnection>(_connections.Values)) Close(connection, abort: true);
            _listener.Dispose();
        }
    }

    private void AcceptReady()
    {
        for (int i = 0; i < AcceptsPerEvent; i++)
        {
            var client = StreamSocket.TryAccept(_listener.Handle, out int errno);
            if (client == null)
            {
                if (errno != EAGAIN) OnAcceptError(errno);
                return;
            }
            EndpointMetrics.ConnectionsAccepted.Inc();
            if (_connections.Count >= _limits.MaxConnections)
            {
                // Refused at once rather than left in the backlog: the client learns now (EOF) instead of at its
                // own timeout, the refusal is counted here (a backlog overflow is only a host-wide kernel
                // counter), and the backlog keeps draining, so a connection accepted later is a fresh one.
                EndpointMetrics.ConnectionsRefused.Inc();
                client.Dispose();
                continue;
            }
            var connection = new HttpConnection(client, ++_nextKey, _limits.MaxRequestHeadBytes, Stopwatch.GetTimestamp() + _requestTimeoutTicks);
            int added = _epoll.TryAdd(client, connection.Key, ConnectionEvents);
            if (added != 0)
            {
                // fs.epoll.max_user_watches reached: this client cannot be served; never the loop's end.
                OnAcceptError(added);
                connection.ReleaseBuffers();
                client.Dispose();
                continue;
            }
            _connections.Add(connection.Key, connection);
            EndpointMetrics.ConnectionsOpen.Inc();
            Volatile.Write(ref _open, _connections.Count);
            // No read yet: epoll reports a head already buffered as the connection's first edge.
        }
    }

    private void OnAcceptError(int errno)
    {
        EndpointMetrics.AcceptErrors.Inc();
        long now = Stopwatch.GetTimestamp();
        if (_lastAcceptErrorLog == 0 || Stopwatch.GetElapsedTime(_lastAcceptErrorLog, now) >= ErrorLogInterval)
        {
            _lastAcceptErrorLog = now;
            _logger.LogWarning("metrics endpoint cannot take a connection: {Error} (counted in xtcp_metrics_accept_errors_total)", Errno.Describe(errno));
        }
        if (IsResourceShortage(errno) && _acceptResumeAt == 0)
        {
            _epoll.Remove(_listener.Handle);
            _acceptResumeAt = now + MonotonicClock.Ticks(AcceptPause);
        }
        // Anything else (ECONNABORTED, EPROTO, ENETDOWN...: the man page's "treat like EAGAIN") concerned
        // one connection; the next event takes the rest of the backlog.
    }

    // Tmds.LibC's errno values are static fields (one assembly per architecture), not constants: no pattern.
    private static bool IsResourceShortage(int errno) =>
        errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM || errno == ENOSPC;

    /// <summary>Moves a connection as far as its socket allows: read the head, answer, write the answer.</summary>
    private void Advance(HttpConnection connection)
    {
        if (!connection.IsResponding)
        {
            switch (connection.ReadHead())
            {
                case HeadProgress.Incomplete:
                    return;
                case HeadProgress.Gone:
                    Close(connection, abort: false);
                    return;
                case HeadProgress.TooLarge:
                    Respond(connection, MetricsRoutes.HeadTooLarge());
                    break;
                case HeadProgress.Complete:
                    var verdict = HttpRequestHead.Parse(connection.Head, out var path);
                    Respond(connection, _routes.Respond(verdict, path));
                    break;
            }
        }
        switch (connection.WriteResponse())
        {
            case WriteProgress.Done:
                Close(connection, abort: false);
                break;
            case WriteProgress.Gone:
                Close(connection, abort: true);
                break;
            case WriteProgress.Blocked:
                break; // the next EPOLLOUT edge resumes it
        }
    }

    private void Respond(HttpConnection connection, HttpResponse response)
    {
        EndpointMetrics.CountResponse(response.Status);
        connection.BeginResponse(response, Stopwatch.GetTimestamp() + _responseTimeoutTicks);
        Interlocked.Increment(ref _responding);
    }

    private void ExpireDeadlines()
    {
        // At most MaxConnections (64) entries: a scan per wake-up costs less than keeping a timer heap in order.
        long now = Stopwatch.GetTimestamp();
        foreach (var connection in _connections.Values)
            if (connection.Deadline <= now) _expired.Add(connection);
        foreach (var connection in _expired)
        {
            if (connection.IsResponding)
            {
                EndpointMetrics.ResponseTimeouts.Inc();
                Close(connection, abort: true);
            }
            else
            {
                EndpointMetrics.RequestTimeouts.Inc();
                // Tell a slow but honest client why; a response this small fits any empty send buffer, and one
                // that does not fit is simply cut off by the close.
                Respond(connection, MetricsRoutes.RequestTimeout());
                connection.WriteResponse();
                Close(connection, abort: false);
            }
        }
        _expired.Clear();
        if (_acceptResumeAt != 0 && now >= _acceptResumeAt)
        {
            _acceptResumeAt = 0;
            _epoll.Add(_listener.Handle, ListenerKey);
        }
    }

    /// <summary>When epoll_wait must return: the earliest deadline or accept resumption, MaxValue if none.</summary>
    private long NextWake()
    {
        long next = _acceptResumeAt == 0 ? long.MaxValue : _acceptResumeAt;
        foreach (var connection in _connections.Values)
            next = Math.Min(next, connection.Deadline);
        return next;
    }

    private void Close(HttpConnection connection, bool abort)
    {
        if (_connections.Remove(connection.Key))
        {
            EndpointMetrics.ConnectionsOpen.Dec();
            Volatile.Write(ref _open, _connections.Count);
            if (connection.IsResponding) Interlocked.Decrement(ref _responding);
        }
        connection.ReleaseBuffers();
        // close() drops the fd from the epoll set (it is the only reference): no EPOLL_CTL_DEL needed.
        if (abort) StreamSocket.Abort(connection.Fd);
        else StreamSocket.CloseGracefully(connection.Fd, _scratch);
    }


    /// <summary>Stops the loop (it closes every connection and the listener), then frees the epoll and eventfd.</summary>
    public void Dispose()
    {
        if (!_stopFd.Signal()) return; // already disposed
        if (_thread.IsAlive && !_thread.Join(TimeSpan.FromSeconds(5)))
            _logger.LogWarning("metrics endpoint did not stop within 5 s");
        _listener.Dispose(); // normally closed by the loop already (idempotent)
        _stopFd.Dispose();
        _epoll.Dispose();
    }
}
