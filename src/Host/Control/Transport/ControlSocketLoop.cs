using System.Collections.Concurrent;
using System.IO.Pipelines;
using Tmds.Linux;
using XtcpEpoll.Netlink.Native;

namespace XtcpEpoll.Host.Control.Transport;

/// <summary>An fd watched by the <see cref="ControlSocketLoop"/>: told its ready events, on the loop's thread.</summary>
internal interface IReadyHandler
{
    void OnReady(int events);
}

/// <summary>
/// The control socket's I/O: one epoll loop over the unix listener and its connections, run by the daemon's main
/// thread (<see cref="RunUntil"/>), which otherwise only waits for a stop. Kestrel's socket transport would start
/// .NET's socket-engine thread for the same work (design/PERFORMANCE.md, "Control plane threads"). Other threads
/// hand it work with <see cref="Post"/> (or through <see cref="Scheduler"/>, as pipe continuations): fds are only
/// ever touched here. Work posted while no thread runs the loop waits for the next <see cref="RunUntil"/>.
/// </summary>
internal sealed class ControlSocketLoop : IDisposable
{
    private const ulong WakeKey = ulong.MaxValue;
    private readonly Epoll _epoll = Epoll.Create();
    private readonly EventFd _wake = EventFd.Create();
    private readonly ConcurrentQueue<(Action<object?> Action, object? State)> _posted = new();
    private readonly Dictionary<ulong, IReadyHandler> _watched = new();
    private readonly Action<Exception> _onError;
    private ulong _nextKey;

    /// <param name="onError">Told of an exception a handler or posted work threw: that connection may be lost, never the loop.</param>
    public ControlSocketLoop(Action<Exception> onError)
    {
        _onError = onError;
        _epoll.Add(_wake.Handle, WakeKey);
        Scheduler = new LoopScheduler(this);
    }

    /// <summary>Runs pipe continuations on this loop (the connection's side of its pipes).</summary>
    public PipeScheduler Scheduler { get; }

    /// <summary>Queues <paramref name="action"/> for the loop's thread (any thread may call).</summary>
    public void Post(Action<object?> action, object? state)
    {
        _posted.Enqueue((action, state));
        _wake.Signal();
    }

    /// <summary>Watches <paramref name="fd"/> (loop thread only); the key for <see cref="Unwatch"/>, or null with the errno.</summary>
    public ulong? Watch(OwnedFd fd, int events, IReadyHandler handler, out int errno)
    {
        ulong key = ++_nextKey;
        errno = _epoll.TryAdd(fd, key, events);
        if (errno != 0) return null;
        _watched[key] = handler;
        return key;
    }

    /// <summary>Stops watching (loop thread only; before closing the fd, so the key is never reported again).</summary>
    public void Unwatch(OwnedFd fd, ulong key)
    {
        _epoll.Remove(fd);
        _watched.Remove(key);
    }

    /// <summary>Serves on the calling thread until <paramref name="done"/> completes.</summary>
    public void RunUntil(Task done)
    {
        done.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(() => _wake.Signal());
        Span<epoll_event> events = stackalloc epoll_event[64];
        while (!done.IsCompleted)
        {
            int n = _epoll.WaitUntil(events, long.MaxValue, "control socket loop");
            for (int i = 0; i < n; i++)
            {
                ulong key = Epoll.Key(events[i]);
                if (key == WakeKey) _wake.Drain();
                else if (_watched.TryGetValue(key, out var handler))
                {
                    try { handler.OnReady(Epoll.Events(events[i])); }
                    catch (Exception e) { _onError(e); }
                }
            }
            RunPosted();
        }
        RunPosted();
    }

    private void RunPosted()
    {
        // Bounded to what was queued before: work that posts more work runs on the next turn, after the fds.
        for (int count = _posted.Count; count > 0 && _posted.TryDequeue(out var work); count--)
        {
            try { work.Action(work.State); }
            catch (Exception e) { _onError(e); }
        }
    }

    public void Dispose()
    {
        _wake.Dispose();
        _epoll.Dispose();
    }

    private sealed class LoopScheduler(ControlSocketLoop loop) : PipeScheduler
    {
        public override void Schedule(Action<object?> action, object? state) => loop.Post(action, state);
    }
}
