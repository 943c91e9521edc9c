using System.Diagnostics;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace XtcpEpoll.Tests.Netlink;

/// <summary>
/// A throw-away named network namespace (`ip netns add xt-netlink-XXXX`, lo up), deleted on Dispose.
/// <see cref="RunInside"/> runs code on a dedicated thread that setns's in, restores the original
/// namespace afterwards and verifies it (the thread then ends, so a thread stuck in the wrong
/// namespace is never reused).
/// </summary>
internal sealed unsafe class NetworkNamespace : IDisposable
{
    public string Name { get; }

    public NetworkNamespace()
    {
        Name = "xt-netlink-" + Guid.NewGuid().ToString("N")[..10];
        Ip($"netns add {Name}");
        Ip($"-n {Name} link set lo up");
    }

    public void Dispose() => Ip($"netns del {Name}", throwOnFailure: false);

    public T RunInside<T>(Func<T> action)
    {
        T? result = default;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try { result = InsideOnThisThread(action); }
            catch (Exception e) { failure = e; }
        }, maxStackSize: 256 * 1024) { IsBackground = true, Name = "netns " + Name };
        thread.Start();
        thread.Join();
        if (failure != null)
            throw new InvalidOperationException($"work inside {Name} failed: {failure.Message}", failure);
        return result!;
    }

    private T InsideOnThisThread<T>(Func<T> action)
    {
        string before = CurrentNamespace();
        int original = OpenReadOnly("/proc/thread-self/ns/net");
        int target = OpenReadOnly("/run/netns/" + Name);
        try
        {
            if (setns(target, CLONE_NEWNET) != 0)
                throw new InvalidOperationException($"setns into {Name} failed: errno {errno}");
            try
            {
                if (CurrentNamespace() == before)
                    throw new InvalidOperationException("setns returned 0 but the namespace did not change");
                return action();
            }
            finally
            {
                if (setns(original, CLONE_NEWNET) != 0 || CurrentNamespace() != before)
                    Environment.FailFast($"could not restore the network namespace of thread {Environment.CurrentManagedThreadId}");
            }
        }
        finally
        {
            close(original);
            close(target);
        }
    }

    public static string CurrentNamespace() => new FileInfo("/proc/thread-self/ns/net").LinkTarget ?? "";

    private static int OpenReadOnly(string path)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(path + "\0");
        fixed (byte* p = bytes)
        {
            int fd = open(p, O_RDONLY | O_CLOEXEC, 0);
            if (fd < 0)
                throw new InvalidOperationException($"open {path} failed: errno {errno}");
            return fd;
        }
    }

    private static void Ip(string arguments, bool throwOnFailure = true)
    {
        using var process = Process.Start(new ProcessStartInfo("ip", arguments) { RedirectStandardError = true, RedirectStandardOutput = true })!;
        string error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0 && throwOnFailure)
            throw new InvalidOperationException($"ip {arguments}: {error.Trim()}");
    }
}
