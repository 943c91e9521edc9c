namespace XtcpEpoll.Netlink.Native;

/// <summary>Resource limits of this process.</summary>
public static unsafe class ResourceLimits
{
    /// <summary>Raises the soft open-files limit to the hard one; returns the limit now in force (0 if unreadable).</summary>
    public static ulong RaiseOpenFilesToHard()
    {
        RLimit limit;
        if (LibCAdditions.getrlimit(LibCAdditions.RLIMIT_NOFILE, &limit) != 0) return 0;
        limit.Current = limit.Max;
        LibCAdditions.setrlimit(LibCAdditions.RLIMIT_NOFILE, &limit);
        LibCAdditions.getrlimit(LibCAdditions.RLIMIT_NOFILE, &limit);
        return limit.Current;
    }
}
