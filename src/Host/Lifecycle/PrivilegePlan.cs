using XtcpEpoll.Loop;

namespace XtcpEpoll.Host.Lifecycle;

/// <summary>
/// Decides what the requested work can do with the capabilities we hold, and says what is missing.
/// Entering another network namespace (setns CLONE_NEWNET) needs CAP_SYS_ADMIN, and the sock_diag socket
/// opened there CAP_NET_ADMIN; reading other processes' /proc/&lt;pid&gt;/ns/net needs CAP_SYS_PTRACE.
/// Without the namespace capabilities the daemon still serves the host namespace (degraded, warned).
/// </summary>
public static class PrivilegePlan
{
    /// <summary>Adjusts <paramref name="options"/> in place; returns the warnings to log (empty = all good).</summary>
    public static IReadOnlyList<string> Apply(Capabilities caps, CollectorOptions options)
    {
        var warnings = new List<string>();
        var missing = new List<string>();
        if (!caps.Has(Capability.SysAdmin)) missing.Add(Capabilities.Name(Capability.SysAdmin));
        if (!caps.Has(Capability.NetAdmin)) missing.Add(Capabilities.Name(Capability.NetAdmin));
        var wantsOtherNamespaces = options.NetnsDirs.Count > 0 || options.ProcScan;
        if (missing.Count > 0 && wantsOtherNamespaces)
        {
            warnings.Add($"missing {string.Join(" and ", missing)} (needed to enter network namespaces): collecting only the host namespace");
            options.NetnsDirs = [];
            options.ProcScan = false;
        }
        else if (options.ProcScan && !caps.Has(Capability.SysPtrace))
        {
            warnings.Add("missing CAP_SYS_PTRACE (needed by --proc-scan to read other processes' /proc/<pid>/ns/net): only namespaces of processes we may trace are discovered");
        }
        return warnings;
    }
}
