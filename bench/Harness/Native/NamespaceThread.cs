using System.Collections.Concurrent;
using XtcpEpoll.Netlink.Native;

namespace XtcpEpoll.Bench.Harness.Native;

/// <summary>
/// One dedicated OS thread that may leave the host network namespace (unshare / setns) and always comes back.
/// WHY a dedicated thread: a thread created while another sits in a foreign namespace can inherit it, so the
/// namespace-switching work runs on a thread that creates no threads, and every job checks afterwards that
/// the thread is back home (inode compare). If it is not, the thread is poisoned and refuses further work.
/// </summary>
internal sealed class NamespaceThread : IDisposable
{
    private readonly BlockingCollection<Action> _jobs = new();
    private readonly Thread _thread;
    private OwnedFd? _homeFd;
    private ulong _homeInode;
    private string? _poisoned;

    public NamespaceThread(string name)
    {
        var ready = new ManualResetEventSlim();
        Exception? startError = null;
        _thread = new Thread(() =>
        {
            try
            {
                _homeFd = NetNamespace.Open(NetNamespace.ThreadPath, out int errno)
                    ?? throw new IOException($"open {NetNamespace.ThreadPath}: {Errno.Describe(errno)}");
                _homeInode = NetNamespace.InodeOfThread();
                if (_homeInode == 0) throw new IOException($"stat {NetNamespace.ThreadPath}: {Errno.Describe(Errno.Last)}");
            }
            catch (Exception e) { startError = e; }
            ready.Set();
            if (startError != null) return;
            foreach (var job in _jobs.GetConsumingEnumerable()) job();
        }) { IsBackground = true, Name = name };
        _thread.Start();
        ready.Wait();
        if (startError != null) throw startError;
    }

    public ulong HomeInode => _homeInode;

    /// <summary>Runs <paramref name="work"/> on the namespace thread and returns its result (or rethrows).</summary>
    public T Run<T>(Func<T> work)
    {
        T result = default!;
        Exception? error = null;
        using var done = new ManualResetEventSlim();
        _jobs.Add(() =>
        {
            try
            {
                if (_poisoned != null) throw new InvalidOperationException("namespace thread unusable: " + _poisoned);
                result = work();
            }
            catch (Exception e) { error = e; }
            finally { error = ReturnHome() ?? error; }
            done.Set();
        });
        done.Wait();
        if (error != null) throw error;
        return result;
    }

    /// <summary>Enters the namespace bind-mounted at <paramref name="nsPath"/> (only inside a Run job).</summary>
    public static void Enter(string nsPath)
    {
        using var fd = NetNamespace.Open(nsPath, out int errno) ?? throw new IOException($"open {nsPath}: {Errno.Describe(errno)}");
        errno = NetNamespace.Enter(fd);
        if (errno != 0) throw new IOException($"setns {nsPath}: {Errno.Describe(errno)}");
    }

    private Exception? ReturnHome()
    {
        int errno = NetNamespace.Enter(_homeFd!);
        if (errno != 0 || NetNamespace.InodeOfThread() != _homeInode)
        {
            _poisoned = "could not return to the host network namespace (" + (errno != 0 ? Errno.Describe(errno) : "still elsewhere after setns") + ")";
            return new InvalidOperationException(_poisoned);
        }
        return null;
    }

    public void Dispose()
    {
        _jobs.CompleteAdding();
        _thread.Join(TimeSpan.FromSeconds(5));
        _homeFd?.Dispose();
    }
}
