namespace XtcpEpoll.Netlink.Capture;

/// <summary>
/// Netlink protocol numbers (the third argument of socket(AF_NETLINK, ..., protocol); include/uapi/linux/
/// netlink.h). An nlmon capture carries every protocol on the host; each record's cooked header names it.
/// </summary>
public static class NetlinkProtocols
{
    public const ushort Route = 0;
    public const ushort SockDiag = 4;

    private static readonly string?[] Names =
    [
        "route", null, "usersock", "firewall", "sock_diag", "nflog", "xfrm", "selinux", "iscsi", "audit",
        "fib_lookup", "connector", "netfilter", "ip6_fw", "dnrtmsg", "kobject_uevent", "generic", null,
        "scsitransport", "ecryptfs", "rdma", "crypto", "smc",
    ];

    /// <summary>The kernel's name without the NETLINK_ prefix, lower case ("route"), or "protocol N".</summary>
    public static string Name(ushort protocol)
        => protocol < Names.Length && Names[protocol] is { } name ? name : "protocol " + protocol;
}
