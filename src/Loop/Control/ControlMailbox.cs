using System.Collections.Concurrent;
using XtcpEpoll.Netlink.Native;
using XtcpEpoll.Sinks.Options;

namespace XtcpEpoll.Loop.Control;

/// <summary>
/// What other threads ask of the control thread: a FIFO of <see cref="ControlCommand"/>s and the eventfd that
/// wakes the control thread's epoll. Owners: <see cref="Post"/> is for any thread (under the queue's lock, so
/// that no post writes to the eventfd once <see cref="Close"/> has closed it); everything else is the control
/// thread's.
/// </summary>
internal sealed class ControlMailbox : IDisposable
{
    private readonly ConcurrentQueue<ControlCommand> _commands = new();
    private readonly EventFd _fd = EventFd.Create();
    /// <summary>Under the queue's lock: set once, at shutdown.</summary>
    private bool _closed;

    /// <summary>The eventfd the control thread's epoll waits on.</summary>
    public OwnedFd Fd => _fd.Handle;

    /// <summary>Queues a command (any thread; ignored once closed).</summary>
    public void Post(ControlCommand command)
    {
        lock (_commands)
        {
            // After shutdown the fd number may belong to something else: never write to it then.
            if (_closed) return;
            _commands.Enqueue(command);
            _fd.Signal();
        }
    }

    /// <summary>Control thread: the eventfd fired.</summary>
    public void Drain() => _fd.Drain();

    public bool TryTake(out ControlCommand command) => _commands.TryDequeue(out command!);

    /// <summary>Shutdown: later posts are dropped and the eventfd is closed.</summary>
    public void Close()
    {
        lock (_commands)
        {
            if (_closed) return;
            _closed = true;
            _fd.Dispose();
        }
    }

    /// <summary>
    /// After <see cref="Close"/>: answers what was still queued (replies that the collector stopped, sockets
    /// opened meanwhile closed); a lane's end-of-poll report goes to <paramref name="laneDone"/>.
    /// </summary>
    public void AnswerLeftovers(Action<ControlCommand.LaneDone> laneDone)
    {
        while (_commands.TryDequeue(out var left))
        {
            switch (left)
            {
                case ControlCommand.Snapshot snapshot: snapshot.Reply.TrySetResult([]); break;
                case ControlCommand.TriggerPoll trigger: trigger.Started?.TrySetResult(-1); break;
                case ControlCommand.SetPollFrequency change: change.Reply.TrySetResult(new OptionError("frequency", "", "the collector has stopped")); break;
                case ControlCommand.Opened opened: opened.Result.CloseSockets(); break; // opened while stopping
                case ControlCommand.LaneDone done: laneDone(done); break;
            }
        }
    }

    public void Dispose() => Close();
}
