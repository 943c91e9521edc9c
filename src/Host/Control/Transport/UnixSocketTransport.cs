using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using Microsoft.AspNetCore.Connections;
using Tmds.Linux;
using XtcpEpoll.Netlink.Native;
using static Tmds.Linux.LibC;

namespace XtcpEpoll.Host.Control.Transport;

/// <summary>
/// Kestrel's transport for the control socket (unix endpoints only; --grpc-listen's TCP stays on Kestrel's socket
/// transport): raw non-blocking fds on the <see cref="ControlSocketLoop"/>, so serving it costs no thread.
/// Registered after Kestrel's own, so Kestrel asks this one first.
/// </summary>
internal sealed class UnixSocketTransport(ControlSocketLoop loop) : IConnectionListenerFactory, IConnectionListenerFactorySelector
{
    public bool CanBind(EndPoint endpoint) => endpoint is UnixDomainSocketEndPoint;

    public ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default)
        => ValueTask.FromResult<IConnectionListener>(UnixSocketListener.Bind(loop, (UnixDomainSocketEndPoint)endpoint));
}

/// <summary>A listening unix socket: the loop accepts, Kestrel's accept loop takes the connections from a queue.</summary>
internal sealed class UnixSocketListener : IConnectionListener, IReadyHandler
{
    private const int Backlog = 64;
    /// <summary>Taken per readiness report: a burst of connections cannot hold up the ones already in.</summary>
    private const int AcceptsPerEvent = 16;
    /// <summary>After EMFILE and the like the listener stays readable: it leaves epoll this long instead of spinning.</summary>
    private static readonly TimeSpan AcceptPause = TimeSpan.FromMilliseconds(100);

    private readonly ControlSocketLoop _loop;
    private readonly OwnedFd _fd;
    private readonly Channel<UnixSocketConnection> _accepted = Channel.CreateUnbounded<UnixSocketConnection>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private ulong? _key;
    private long _nextId;
    private bool _unbound;

    private UnixSocketListener(ControlSocketLoop loop, OwnedFd fd, UnixDomainSocketEndPoint endpoint)
    {
        _loop = loop;
        _fd = fd;
        EndPoint = endpoint;
        loop.Post(static self => ((UnixSocketListener)self!).StartWatching(), this);
    }

    public EndPoint EndPoint { get; }

    /// <summary>socket + bind + chmod 0660 + listen now (so a bind error reaches Kestrel's start); IOException naming the path.</summary>
    public static unsafe UnixSocketListener Bind(ControlSocketLoop loop, UnixDomainSocketEndPoint endpoint)
    {
        var path = endpoint.ToString();
        var fd = OwnedFd.FromResult(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), out int errno)
            ?? throw new IOException($"socket(AF_UNIX): {Errno.Describe(errno)}");
        try
        {
            var bytes = System.Text.Encoding.UTF8.GetBytes(path);
            var address = new sockaddr_un { sun_family = (ushort)AF_UNIX };
            if (bytes.Length >= sockaddr_un.sun_path_length) throw new IOException($"bind {path}: the path is longer than {sockaddr_un.sun_path_length - 1} bytes");
            for (int i = 0; i < bytes.Length; i++) address.sun_path[i] = bytes[i];
            using var lease = fd.Borrow();
            if (bind(lease.Fd, (sockaddr*)&address, (uint)sizeof(sockaddr_un)) != 0) throw new IOException($"bind {path}: {Errno.Describe(Errno.Last)}");
            // The mode before listen: bind made the file with the umask's mode (0755 here), and until listen a
            // connect is refused, so nobody outside the group ever reaches a listening control socket (a chmod
            // after Kestrel's start left a window, seen by ControlSocketTests under a CPU hog).
            if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, ControlServer.SocketMode);
            if (listen(lease.Fd, Backlog) != 0) throw new IOException($"listen {path}: {Errno.Describe(Errno.Last)}");
        }
        catch
        {
            fd.Dispose();
            throw;
        }
        return new UnixSocketListener(loop, fd, endpoint);
    }

    private void StartWatching()
    {
        if (_unbound) return;
        _key = _loop.Watch(_fd, EPOLLIN, this, out int errno);
        if (_key == null) throw Errno.Failure("epoll_ctl ADD control socket listener", errno);
    }

    public void OnReady(int events)
    {
        for (int i = 0; i < AcceptsPerEvent && !_unbound; i++)
        {
            var client = StreamSocket.TryAccept(_fd, out int errno);
            if (client == null)
            {
                if (errno == EAGAIN || errno == ECONNABORTED) return;
                PauseAccepting(); // EMFILE, ENFILE, ENOBUFS, ENOMEM: the backlog waits, the loop does not spin
                return;
            }
            var connection = new UnixSocketConnection(_loop, client, EndPoint, "ctl-" + Interlocked.Increment(ref _nextId));
            if (!connection.Start()) continue; // could not be watched: closed, as if refused
            _accepted.Writer.TryWrite(connection);
        }
    }

    private void PauseAccepting()
    {
        if (_key is { } key) _loop.Unwatch(_fd, key);
        _key = null;
        Task.Delay(AcceptPause).ContinueWith(static (_, self) =>
        {
            var listener = (UnixSocketListener)self!;
            listener._loop.Post(static s => ((UnixSocketListener)s!).StartWatching(), listener);
        }, this, TaskScheduler.Default);
    }

    public async ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default)
    {
        while (await _accepted.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            if (_accepted.Reader.TryRead(out var connection)) return connection;
        return null; // unbound: Kestrel's accept loop ends
    }

    public ValueTask UnbindAsync(CancellationToken cancellationToken = default)
    {
        _accepted.Writer.TryComplete();
        _loop.Post(static self => ((UnixSocketListener)self!).Close(), this);
        return ValueTask.CompletedTask;
    }

    private void Close()
    {
        _unbound = true;
        if (_key is { } key) _loop.Unwatch(_fd, key);
        _key = null;
        _fd.Dispose();
        // Accepted but never taken by Kestrel (it stopped first): nobody else will close them.
        while (_accepted.Reader.TryRead(out var connection)) connection.Abort();
    }

    public ValueTask DisposeAsync() => UnbindAsync();
}
