using Tmds.Linux;

namespace XtcpEpoll.Loop.Namespaces;

/// <summary>Why an open attempt left no socket (each value is one label of xtcp_namespace_open_failures_total).</summary>
public enum OpenFailure
{
    /// <summary>No failure: the open succeeded.</summary>
    None,
    /// <summary>open(2) of the nsfs path failed for a reason other than ENOENT.</summary>
    Open,
    /// <summary>setns said EINVAL: the path is a file, but not a network namespace (e.g. a stray file).</summary>
    NotNetns,
    /// <summary>The path no longer exists (ENOENT): the namespace went away.</summary>
    Vanished,
    /// <summary>The path now names another namespace than the one the caller stat'ed.</summary>
    InodeChanged,
    /// <summary>setns into the namespace failed for a reason other than EINVAL.</summary>
    Setns,
    /// <summary>The sock_diag socket could not be made inside the namespace.</summary>
    Socket,
    /// <summary>The opener thread could not return to its own namespace (the opener is poisoned).</summary>
    Restore,
    /// <summary>The socket (or the thread, at home) turned out to live in another namespace than the target.</summary>
    Verify,
}

/// <summary>How open failures are classified, named in metrics, and what the registry makes of them.</summary>
public static class OpenFailures
{
    /// <summary>The metric label of <paramref name="failure"/>: the names xtcp_namespace_open_failures_total has always used.</summary>
    public static string Label(OpenFailure failure) => failure switch
    {
        OpenFailure.Open => "open",
        OpenFailure.NotNetns => "not_netns",
        OpenFailure.Vanished => "vanished",
        OpenFailure.InodeChanged => "inode_changed",
        OpenFailure.Setns => "setns",
        OpenFailure.Socket => "socket",
        OpenFailure.Restore => "restore",
        OpenFailure.Verify => "verify",
        _ => throw new ArgumentOutOfRangeException(nameof(failure), failure, "no label: not a failure"),
    };

    /// <summary>open(2) of the namespace path failed with <paramref name="errno"/>.</summary>
    public static OpenFailure OfOpen(int errno) => errno == LibC.ENOENT ? OpenFailure.Vanished : OpenFailure.Open;

    /// <summary>setns(2) into the namespace failed with <paramref name="errno"/> (EINVAL: the fd is no network namespace).</summary>
    public static OpenFailure OfSetns(int errno) => errno == LibC.EINVAL ? OpenFailure.NotNetns : OpenFailure.Setns;

    /// <summary>
    /// The namespace behind the path is gone (not merely unopenable): its entry is removed at once instead of
    /// retried at the next reconcile.
    /// </summary>
    public static bool NamespaceGone(OpenFailure failure) => failure is OpenFailure.Vanished or OpenFailure.InodeChanged;
}
