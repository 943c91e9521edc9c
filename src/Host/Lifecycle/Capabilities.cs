using System.Globalization;

namespace XtcpEpoll.Host.Lifecycle;

/// <summary>Linux capability numbers this daemon cares about (linux/capability.h).</summary>
public enum Capability
{
    NetAdmin = 12,
    SysPtrace = 19,
    SysAdmin = 21,
}

/// <summary>The effective capability set of this process, from /proc/self/status CapEff.</summary>
public readonly struct Capabilities
{
    private readonly ulong _effective;

    public Capabilities(ulong effective) => _effective = effective;

    public bool Has(Capability capability) => (_effective & (1UL << (int)capability)) != 0;

    public ulong Mask => _effective;

    public static Capabilities ReadSelf() => Parse(File.ReadAllText("/proc/self/status"));

    /// <summary>Parses the CapEff line of a /proc/&lt;pid&gt;/status text (none found = no capabilities).</summary>
    public static Capabilities Parse(string status)
    {
        foreach (var line in status.Split('\n'))
        {
            if (!line.StartsWith("CapEff:", StringComparison.Ordinal)) continue;
            return ulong.TryParse(line.AsSpan("CapEff:".Length).Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var mask)
                ? new Capabilities(mask)
                : default;
        }
        return default;
    }

    public static string Name(Capability capability) => capability switch
    {
        Capability.NetAdmin => "CAP_NET_ADMIN",
        Capability.SysPtrace => "CAP_SYS_PTRACE",
        Capability.SysAdmin => "CAP_SYS_ADMIN",
        _ => "CAP_" + (int)capability,
    };
}
