using System.Text;
using Tmds.Linux;
using XtcpEpoll.Netlink.Native;

namespace XtcpEpoll.Loop.Namespaces;

/// <summary>
/// The only thread of the process that calls setns (thread "xtcp-nsopen"). It creates no threads (a thread
/// cloned while its creator sits in a foreign namespace would inherit it), handles one request at a time:
/// open nsfs file → setns in → socket+bind (and, with destroy events, a second socket joined to the TCP
/// destroy groups) → read tcp_ehash_entries → setns back → verify the thread is home (inode of
/// /proc/thread-self/ns/net) → verify the socket's namespace (SIOCGSKNS). Any failure leaves no socket. If the
/// thread cannot get home it is poisoned: it stops serving and exits, and the owner starts a fresh opener
/// (see <see cref="Poisoned"/>). Between opens, at home, it also runs the owner's
/// <see cref="IOpenerSideWork"/> (container attribution): slow filesystem work that must stay off the control
/// thread's loop and the lanes, and that needs no thread of its own.
/// </summary>
public sealed class NamespaceOpener : IDisposable
{
    /// <summary>During a burst of opens, side work that has been due this long runs between two opens.</summary>
    private static readonly long SideWorkStarvation = System.Diagnostics.Stopwatch.Frequency / 4;

    private readonly Queue<OpenRequest> _queue = new();
    /// <summary>
    /// Receive buffer asked for each destroy-event socket (SO_RCVBUFFORCE; the kernel doubles it to 2 MiB). Each
    /// event is a 380-byte datagram of 1,280 bytes of truesize (probe `destroysize`), so ~1,600 events queue
    /// before the kernel drops: 160 ms of a 10,000-closes-per-second burst while the lane is busy elsewhere.
    /// Closing 10,000 sockets at once lost 9,407 events with the default 208 KiB and none with this (probe
    /// `destroy 5000`, reader draining every 10 ms). Memory is only used while events wait.
    /// </summary>
    public const int DestroyReceiveBuffer = 1 << 20;

    private readonly Action<OpenResult> _onResult;
    private readonly bool _destroyEvents;
    private readonly bool _tcpCounters;
    private readonly IOpenerSideWork? _sideWork;
    private readonly Thread _thread;
    private readonly ManualResetEventSlim _ready = new();
    private OwnedFd? _homeFd;
    private ulong _homeInode;
    private bool _stopping;
    private string? _startError;

    /// <param name="onResult">Called on the opener thread for every request (must not block long).</param>
    /// <param name="sideWork">Run on this thread between opens (see <see cref="IOpenerSideWork"/>), or null.</param>
    /// <param name="destroyEvents">Also open each namespace's destroy-event socket (--destroy-events).</param>
    /// <param name="tcpCounters">Also open each namespace's TCP counter files (<see cref="TcpCounterFiles"/>; walks on an interval).</param>
    internal NamespaceOpener(Action<OpenResult> onResult, IOpenerSideWork? sideWork, bool destroyEvents = false, bool tcpCounters = false)
    {
        _onResult = onResult;
        _sideWork = sideWork;
        _destroyEvents = destroyEvents;
        _tcpCounters = tcpCounters;
        _thread = new Thread(Run) { IsBackground = true, Name = "xtcp-nsopen" };
        _thread.Start();
        _ready.Wait();
        if (_startError != null) throw new InvalidOperationException(_startError);
    }

    /// <param name="onResult">Called on the opener thread for every request (must not block long).</param>
    public NamespaceOpener(Action<OpenResult> onResult) : this(onResult, null)
    {
    }

    /// <summary>Inode of the namespace this opener's thread returns to after every request.</summary>
    public ulong HomeInode => _homeInode;

    /// <summary>Set when the thread could not return to its namespace: it serves no more requests.</summary>
    public bool Poisoned { get; private set; }

    /// <summary>Raised (on the opener thread, just before it exits) with the requests it will not serve.</summary>
    public event Action<NamespaceOpener, List<OpenRequest>>? PoisonedWithPending;

    /// <summary>Inode of /proc/thread-self/ns/net measured by the opener thread after its last request.</summary>
    public ulong LastVerifiedThreadInode { get; private set; }

    /// <summary>Test hook: makes the next restore look failed (exercises the poisoned-thread path).</summary>
    internal bool SimulateRestoreFailureOnce { get; set; }

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
        if (Thread.CurrentThread != _thread) _thread.Join();
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
                _onResult(result);
                PoisonedWithPending?.Invoke(this, pending);
                return; // this thread never serves again; it exits still marked poisoned
            }
            _onResult(result);
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
            return Fail(request, openErrno == LibC.ENOENT ? "vanished" : "open", openErrno);
        ulong target = Files.Stat(nsFd).Inode;
        if (request.ExpectedInode != 0 && target != request.ExpectedInode)
            return Fail(request, "inode_changed", 0);
        if (target == _homeInode) return OpenAtHome(request, target);
        int setnsErrno = NetNamespace.Enter(nsFd);
        if (setnsErrno != 0)
            return Fail(request, setnsErrno == LibC.EINVAL ? "not_netns" : "setns", setnsErrno);
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
            return Fail(request, "restore", restoreErrno);
        }
        if (socketFd == null) return Fail(request, "socket", socketErrno);

        ulong socketNs = SocketNamespaceInode(socketFd);
        if (socketNs != target || (destroyFd != null && SocketNamespaceInode(destroyFd) != target))
        {
            socketFd.Dispose();
            destroyFd?.Dispose();
            counters?.Dispose();
            return Fail(request, "verify", 0);
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
        LastVerifiedThreadInode = NetNamespace.InodeOfThread();
        if (LastVerifiedThreadInode != target) return Fail(request, "verify", 0);
        var socketFd = NetlinkSocket.OpenSockDiag(out int errno);
        if (socketFd == null) return Fail(request, "socket", errno);
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
        errno = NetNamespace.Enter(_homeFd!);
        bool ok = errno == 0;
        LastVerifiedThreadInode = NetNamespace.InodeOfThread();
        if (SimulateRestoreFailureOnce) { SimulateRestoreFailureOnce = false; return false; }
        return ok && LastVerifiedThreadInode == _homeInode;
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

    private static OpenResult Fail(OpenRequest request, string reason, int errno) =>
        new() { Request = request, FailureReason = reason, Errno = errno };
}
