using XtcpEpoll.Netlink.Native;

namespace XtcpEpoll.Loop.Namespaces;

/// <summary>An opener as its supervisor sees it (<see cref="NamespaceOpener"/>; supervision tests use a fake).</summary>
internal interface IOpenerThread : IDisposable
{
    /// <summary>Starts the thread (never in a constructor); throws if the thread cannot find its own namespace.</summary>
    void Start();

    void Enqueue(OpenRequest request);
}

/// <summary>
/// The one path by which an opener reports, called on the opener thread: every request's result, and, once,
/// that it could not get home and will serve no more (with the requests it leaves unserved). Must not block long.
/// </summary>
internal interface IOpenerReports
{
    void Opened(OpenResult result);

    /// <summary>Called after the <see cref="Opened"/> of the request that poisoned the opener, just before its thread exits.</summary>
    void Poisoned(IOpenerThread opener, List<OpenRequest> pending);
}

/// <summary>
/// The setns step of the opener: entering a namespace (a target, or home again) and measuring where the
/// calling thread is. The fault seam for the restore path: tests give the opener one whose restore fails.
/// </summary>
internal interface INamespaceSwitch
{
    /// <summary>setns(fd, CLONE_NEWNET) for the calling thread: 0 or errno.</summary>
    int Enter(OwnedFd namespaceFd);

    /// <summary>Inode of the calling thread's network namespace (/proc/thread-self/ns/net).</summary>
    ulong InodeOfThread();
}

/// <summary>The real setns (the only one production uses).</summary>
internal sealed class KernelNamespaceSwitch : INamespaceSwitch
{
    public static readonly KernelNamespaceSwitch Instance = new();

    public int Enter(OwnedFd namespaceFd) => NetNamespace.Enter(namespaceFd);
    public ulong InodeOfThread() => NetNamespace.InodeOfThread();
}
