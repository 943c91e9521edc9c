using System.Text;
using XtcpEpoll.Netlink.Native;

namespace XtcpEpoll.Loop.Namespaces;

/// <summary>
/// The only thread of the process that calls setns (thread "xtcp-nsopen"). It creates no threads (a thread
/// cloned while its creator sits in a foreign namespace would inherit it), handles one request at a time:
/// open nsfs file → setns in → socket+bind (and, with destroy events, a second socket joined to the TCP
/// destroy groups) → read tcp_ehash_entries → setns back → verify the thread is home (inode of
/// /proc/thread-self/ns/net) → verify the socket's namespace (SIOCGSKNS). Any failure leaves no socket. If the
/// thread cannot get home it is poisoned: it stops serving and exits, and reports so (<see cref="IOpenerReports.Poisoned"/>):
/// its supervisor starts a fresh opener. Between opens, at home, it also runs the owner's
/// <see cref="IOpenerSideWork"/> (container attribution): slow filesystem work that must stay off the control
/// thread's loop and the lanes, and that needs no thread of its own.
/// Owners: the queue and _stopping are shared under the queue's lock; everything else is the opener thread's
/// (the home namespace is written by it before <see cref="Start"/> returns).
/// </summary>
internal sealed class NamespaceOpener : IOpenerThread
{
    /// <summary>During a burst of opens, side work that has been due this long runs between two opens.</summary>
    private static readonly long SideWorkStarvation = System.Diagnostics.Stopwatch.Frequency / 4;

    /// <summary>
    /// Receive buffer asked for each destroy-event socket (SO_RCVBUFFORCE; the kernel doubles it to 2 MiB): a
    /// burst of closes queues there while the lane is busy elsewhere; memory is only used while events wait.
    /// The probe that sized it: design/PERFORMANCE.md (destroy events, "10,000 closes at once").
    /// </summary>
    public const int DestroyReceiveBuffer = 1 << 20;

    private readonly Queue<OpenRequest> _queue = new();
    private readonly IOpenerReports _reports;
    private readonly bool _destroyEvents;
    private readonly bool _tcpCounters;
    private readonly IOpenerSideWork? _sideWork;
    private readonly INamespaceSwitch _switch;
    private readonly Thread _thread;
    private readonly ManualResetEventSlim _ready = new();
    private OwnedFd? _homeFd;
    private ulong _homeInode;
    private bool _started;
    private bool _stopping;
    private string? _startError;

    /// <param name="reports">Where every result (and a poisoning) is reported, on the opener thread.</param>
    /// <param name="sideWork">Run on this thread between opens (see <see cref="IOpenerSideWork"/>), or null.</param>
    /// <param name="destroyEvents">Also open each namespace's destroy-event socket (--destroy-events).</param>
    /// <param name="tcpCounters">Also open each namespace's TCP counter files (<see cref="TcpCounterFiles"/>; walks on an interval).</param>
    /// <param name="namespaceSwitch">The setns step; null = the kernel's (tests pass one whose restore fails).</param>
    internal NamespaceOpener(IOpenerReports reports, IOpenerSideWork? sideWork = null, bool destroyEvents = false, bool tcpCounters = false,
        INamespaceSwitch? namespaceSwitch = null)
    {
        _reports = reports;
        _sideWork = sideWork;
        _destroyEvents = destroyEvents;
        _tcpCounters = tcpCounters;
        _switch = namespaceSwitch ?? KernelNamespaceSwitch.Instance;
        _thread = new Thread(Run) { IsBackground = true, Name = "xtcp-nsopen" }; // made here, started by Start
    }

    /// <summary>Inode of the namespace this opener's thread returns to after every request.</summary>
    public ulong HomeInode => _homeInode;

    /// <summary>Set when the thread could not return to its namespace: it serves no more requests.</summary>
    public bool Poisoned { get; private set; }

    /// <summary>Inode of /proc/thread-self/ns/net measured by the opener thread after its last request.</summary>
    public ulong LastVerifiedThreadInode { get; private set; }

    public void Start()
    {
        _started = true;
        _thread.Start();
        _ready.Wait();
        if (_startError != null) throw new InvalidOperationException(_startError);
    }

    public void Enqueue(OpenRequest request)
    {
        lock (_queue)
        {
            _queue.Enqueue(request);
            Monitor.Pulse(_queue);
        }
    }

    /// <summary>Makes the thread re-check its side work's schedule (side work became due earlier).</summary>
    private void Wake()
    {
        lock (_queue) Monitor.Pulse(_queue);
    }

    public void Dispose()
    {
        lock (_queue)
        {
            _stopping = true;
            Monitor.PulseAll(_queue);
        }
        if (_started && Thread.CurrentThread != _thread) _thread.Join();
        _homeFd?.Dispose();
    }

    private void Run()
    {
        _homeFd = NetNamespace.Open(NetNamespace.ThreadPath, out int errno);
        _homeInode = _homeFd != null ? Files.Stat(_homeFd).Inode : 0;
        if (_homeFd == null || _homeInode == 0) _startError = $"cannot open {NetNamespace.ThreadPath}: errno {(errno != 0 ? errno : Errno.Last)}";
        _ready.Set();
        if (_startError != null) return;
        _sideWork?.Attach(Wake);

        while (true)
        {
            OpenRequest? request = null;
            lock (_queue)
            {
                while (!_stopping)
                {
                    long due = _sideWork?.DueAt() ?? long.MaxValue;
                    long now = System.Diagnostics.Stopwatch.GetTimestamp();
                    // Opens first; side work when nothing is queued, or when a long burst has starved it.
                    if (_queue.Count > 0 && (due == long.MaxValue || now < due + SideWorkStarvation))
                    {
                        request = _queue.Dequeue();
                        break;
                    }
                    if (due <= now) break;
                    Monitor.Wait(_queue, MonotonicClock.TimeoutMs(due, now)); // queue empty: until an open, a wake or due
                }
                if (_stopping) return;
            }
            if (request == null)
            {
                RunSideWork();
                continue;
            }
            var result = OpenOne(request, out bool home);
            if (!home)
            {
                Poisoned = true;
                List<OpenRequest> pending;
                lock (_queue) { pending = [.. _queue]; _queue.Clear(); _stopping = true; }
                _reports.Opened(result);
                _reports.Poisoned(this, pending);
                return; // this thread never serves again; it exits still marked poisoned
            }
            _reports.Opened(result);
        }
    }

    private void RunSideWork()
    {
        // Only ever at home: the loop above runs it between requests, after Restore() proved the thread is back.
        try { _sideWork!.Run(); }
        catch (Exception) { } // IOpenerSideWork.Run counts and logs its own failures; the opener must survive a bug there
    }

    private OpenResult OpenOne(OpenRequest request, out bool home)
    {
        home = true;
        using var nsFd = NetNamespace.Open(request.Path, out int openErrno);
        if (nsFd == null)
            return Fail(request, OpenFailures.OfOpen(openErrno), openErrno);
        ulong target = Files.Stat(nsFd).Inode;
        if (request.ExpectedInode != 0 && target != request.ExpectedInode)
            return Fail(request, OpenFailure.InodeChanged, 0);
        if (target == _homeInode) return OpenAtHome(request, target);
        int setnsErrno = _switch.Enter(nsFd);
        if (setnsErrno != 0) return Fail(request, OpenFailures.OfSetns(setnsErrno), setnsErrno);
        var socketFd = NetlinkSocket.OpenSockDiag(out int socketErrno);
        int ehash = socketFd != null ? ReadTcpEhashEntries() : 0;
        int destroyErrno = 0;
        var destroyFd = socketFd != null ? OpenDestroyEvents(out destroyErrno) : null;
        int countersErrno = 0;
        var counters = socketFd != null ? OpenCounters(out countersErrno) : null;

        home = Restore(out int restoreErrno);
        if (!home)
        {
            socketFd?.Dispose();
            destroyFd?.Dispose();
            counters?.Dispose();
            return Fail(request, OpenFailure.Restore, restoreErrno);
        }
        if (socketFd == null) return Fail(request, OpenFailure.Socket, socketErrno);

        ulong socketNs = SocketNamespaceInode(socketFd);
        if (socketNs != target || (destroyFd != null && SocketNamespaceInode(destroyFd) != target))
        {
            socketFd.Dispose();
            destroyFd?.Dispose();
            counters?.Dispose();
            return Fail(request, OpenFailure.Verify, 0);
        }
        return new OpenResult
        {
            Request = request, SocketFd = socketFd, Inode = target, TcpEhashEntries = ehash, DestroyFd = destroyFd, DestroyErrno = destroyErrno,
            Counters = counters, CountersErrno = countersErrno,
        };
    }

    /// <summary>The destroy-event socket of the calling thread's namespace, when asked for (null: not asked, or failed).</summary>
    private OwnedFd? OpenDestroyEvents(out int errno)
    {
        errno = 0;
        return _destroyEvents ? NetlinkSocket.OpenDestroyEvents(DestroyReceiveBuffer, out errno) : null;
    }

    /// <summary>The TCP counter files of the calling thread's namespace, when asked for (null: not asked, or failed).</summary>
    private TcpCounterFiles? OpenCounters(out int errno)
    {
        errno = 0;
        return _tcpCounters ? TcpCounterFiles.OpenForCurrentThread(out errno) : null;
    }

    /// <summary>
    /// The opener's own namespace (the daemon's "host"): no setns, which needs CAP_SYS_ADMIN the daemon may not
    /// have, and no SIOCGSKNS (needs CAP_NET_ADMIN): the thread is verified to be home, so its socket is too.
    /// </summary>
    private OpenResult OpenAtHome(OpenRequest request, ulong target)
    {
        LastVerifiedThreadInode = _switch.InodeOfThread();
        if (LastVerifiedThreadInode != target) return Fail(request, OpenFailure.Verify, 0);
        var socketFd = NetlinkSocket.OpenSockDiag(out int errno);
        if (socketFd == null) return Fail(request, OpenFailure.Socket, errno);
        var destroyFd = OpenDestroyEvents(out int destroyErrno);
        var counters = OpenCounters(out int countersErrno);
        return new OpenResult
        {
            Request = request, SocketFd = socketFd, Inode = target, TcpEhashEntries = ReadTcpEhashEntries(), DestroyFd = destroyFd, DestroyErrno = destroyErrno,
            Counters = counters, CountersErrno = countersErrno,
        };
    }

    /// <summary>setns back home and prove it by inode; false means this thread must never be used again.</summary>
    private bool Restore(out int errno)
    {
        errno = _switch.Enter(_homeFd!);
        LastVerifiedThreadInode = _switch.InodeOfThread();
        return errno == 0 && LastVerifiedThreadInode == _homeInode;
    }

    /// <summary>Inode of the namespace a socket lives in (ioctl SIOCGSKNS → ns fd → fstat), 0 on failure.</summary>
    public static ulong SocketNamespaceInode(OwnedFd socketFd) => NetNamespace.OfSocket(socketFd);

    /// <summary>net.ipv4.tcp_ehash_entries of the calling thread's namespace; 0 if absent (kernel &lt; 6.1).</summary>
    private static int ReadTcpEhashEntries()
    {
        using var fd = Files.OpenReadOnly("/proc/sys/net/ipv4/tcp_ehash_entries", out _);
        if (fd == null) return 0;
        Span<byte> buf = stackalloc byte[32];
        int n = Files.Read(fd, buf);
        if (n <= 0) return 0;
        var text = Encoding.ASCII.GetString(buf[..n]).Trim();
        return int.TryParse(text, out int value) ? value : 0;
    }

    private static OpenResult Fail(OpenRequest request, OpenFailure failure, int errno) =>
        new() { Request = request, Failure = failure, Errno = errno };
}
