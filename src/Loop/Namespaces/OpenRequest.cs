using XtcpEpoll.Netlink.Native;

namespace XtcpEpoll.Loop.Namespaces;

/// <summary>Ask the opener for a sock_diag socket inside the namespace behind <paramref name="Path"/>.</summary>
/// <param name="Path">nsfs file: a bind mount, /proc/&lt;pid&gt;/ns/net, or the host's own ns.</param>
/// <param name="ExpectedInode">Inode the caller saw when it stat'ed the path (0 = accept any).</param>
public sealed record OpenRequest(string Path, ulong ExpectedInode);

/// <summary>What one open attempt produced. Exactly one of SocketFd != null or Failure != None.</summary>
public sealed class OpenResult
{
    public required OpenRequest Request { get; init; }
    /// <summary>Verified netlink socket living in the target namespace (the receiver owns it), or null.</summary>
    public OwnedFd? SocketFd { get; init; }
    /// <summary>
    /// A second socket of the same namespace subscribed to its TCP destroy events (the receiver owns it), or
    /// null: not asked for, or the subscription failed (<see cref="DestroyErrno"/>; the namespace is still polled).
    /// </summary>
    public OwnedFd? DestroyFd { get; init; }
    /// <summary>Why the destroy-event socket could not be made (0 = made, or not asked for).</summary>
    public int DestroyErrno { get; init; }
    /// <summary>
    /// The namespace's TCP counter files (the receiver owns them), or null: not asked for (--walk-interval 0), or
    /// they could not be opened (<see cref="CountersErrno"/>; the namespace then finds new sockets at its interval walks).
    /// </summary>
    internal TcpCounterFiles? Counters { get; init; }
    /// <summary>Why the counter files could not be opened (0 = opened, or not asked for).</summary>
    public int CountersErrno { get; init; }
    /// <summary>nsfs inode of the namespace actually entered.</summary>
    public ulong Inode { get; init; }
    /// <summary>net.ipv4.tcp_ehash_entries read inside the namespace (negative = shares the host table, 0 = unknown).</summary>
    public int TcpEhashEntries { get; init; }
    /// <summary>Why no socket was made (<see cref="OpenFailures.Label"/> names it in metrics and logs), or None.</summary>
    public OpenFailure Failure { get; init; }
    public int Errno { get; init; }
    public bool Succeeded => SocketFd != null;

    /// <summary>Closes the sockets of a result nobody takes (removed or re-requested meanwhile, or stopping).</summary>
    public void CloseSockets()
    {
        SocketFd?.Dispose();
        DestroyFd?.Dispose();
        Counters?.Dispose();
    }
}
