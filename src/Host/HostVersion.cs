using System.Reflection;

namespace XtcpEpoll.Host;

/// <summary>The daemon version stamped on records (daemon_version) and printed by `version`.</summary>
public static class HostVersion
{
    public static string Text { get; } =
        typeof(HostVersion).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? typeof(HostVersion).Assembly.GetName().Version?.ToString()
        ?? "0.0.0";
}
