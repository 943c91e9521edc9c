using System.Diagnostics;

namespace XtcpEpoll.Bench.Harness.Infra;

/// <summary>How to start this same harness binary again with another verb (the socket holders).</summary>
internal static class SelfInvocation
{
    public static ProcessStartInfo StartInfo(params string[] args)
    {
        string exe = Environment.ProcessPath ?? throw new InvalidOperationException("no process path");
        var psi = new ProcessStartInfo(exe) { UseShellExecute = false };
        // Run as `dotnet xtcp-epoll-bench.dll`: pass the dll again; run via the apphost: just the verb.
        if (Path.GetFileNameWithoutExtension(exe) == "dotnet") psi.ArgumentList.Add(typeof(SelfInvocation).Assembly.Location);
        foreach (var a in args) psi.ArgumentList.Add(a);
        return psi;
    }
}
