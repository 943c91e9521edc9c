using System.Collections.Concurrent;
using System.Runtime.InteropServices;

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
    private int _homeFd = -1;
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
                _homeFd = Libc.open("/proc/thread-self/ns/net", Libc.O_RDONLY | Libc.O_CLOEXEC, 0);
                if (_homeFd < 0) throw new IOException(Libc.Error("open /proc/thread-self/ns/net"));
                _homeInode = Libc.Inode("/proc/thread-self/ns/net");
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
        int fd = Libc.open(nsPath, Libc.O_RDONLY | Libc.O_CLOEXEC, 0);
        if (fd < 0) throw new IOException(Libc.Error($"open {nsPath}"));
        try
        {
            if (Libc.setns(fd, Libc.CLONE_NEWNET) != 0) throw new IOException(Libc.Error($"setns {nsPath}"));
        }
        finally { Libc.close(fd); }
    }

    private Exception? ReturnHome()
    {
        if (Libc.setns(_homeFd, Libc.CLONE_NEWNET) != 0 || Libc.Inode("/proc/thread-self/ns/net") != _homeInode)
        {
            _poisoned = "could not return to the host network namespace (" + Marshal.GetLastPInvokeErrorMessage() + ")";
            return new InvalidOperationException(_poisoned);
        }
        return null;
    }

    public void Dispose()
    {
        _jobs.CompleteAdding();
        _thread.Join(TimeSpan.FromSeconds(5));
        if (_homeFd >= 0) Libc.close(_homeFd);
    }
}
