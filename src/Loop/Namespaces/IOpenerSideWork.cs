namespace XtcpEpoll.Loop.Namespaces;

/// <summary>
/// Slow filesystem work that shares the opener thread (xtcp-nsopen) instead of getting a thread of its own:
/// container attribution (/proc passes, cgroup walks). The opener runs it only at home (never between a setns
/// and its restore), when no open is queued or when it has been due for a while during a burst of opens.
/// It must not throw and must not block on anything but the filesystem.
/// </summary>
internal interface IOpenerSideWork
{
    /// <summary>Called by each opener thread when it starts (a restarted opener too): <paramref name="wake"/> wakes it.</summary>
    void Attach(Action wake);

    /// <summary>Stopwatch timestamp at which <see cref="Run"/> is next wanted; long.MaxValue = nothing to do.</summary>
    long DueAt();

    /// <summary>Does whatever is due.</summary>
    void Run();
}
