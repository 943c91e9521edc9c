using System.Diagnostics;
using Xunit;

namespace XtcpEpoll.Tests.Host;

/// <summary>
/// The published (Native AOT) binary, run as an unprivileged user with only CAP_SYS_ADMIN + CAP_NET_ADMIN as ambient
/// capabilities (setpriv), collects a namespace the same user without capabilities cannot.
/// </summary>
public class LeastPrivilegeTests
{
    private const string User = "xtcp-test";
    private const int Listeners = 2;

    [Fact]
    public void Unprivileged_user_with_only_namespace_capabilities_collects_another_namespace()
    {
        EnsureUser();
        var executable = PublishedBinary.Executable;
        using var namespaces = new TestNamespaces("host-priv");
        var name = namespaces.Add(Listeners);

        var (code, stdout, stderr) = RunAs(executable, namespaces.Directory.FullName,
            "--inh-caps=-all,+sys_admin,+net_admin", "--ambient-caps=-all,+sys_admin,+net_admin", "--bounding-set=-all,+sys_admin,+net_admin");

        Assert.True(code == 0, $"exit {code}: {stderr}");
        Assert.DoesNotContain("missing CAP_", stderr);
        var ours = JsonlRecords.Parse(stdout.Split('\n')).FindAll(r => r.Netns == name);
        Assert.Equal(TestNamespaces.SocketsPerNamespace(Listeners), ours.Count);
        foreach (var port in namespaces.ListenerPorts[name])
            Assert.Contains(ours, r => r.SourcePort == port);
    }

    [Fact]
    public void Same_user_without_capabilities_says_what_is_missing_and_collects_only_its_own_namespace()
    {
        EnsureUser();
        var executable = PublishedBinary.Executable;
        using var namespaces = new TestNamespaces("host-nopriv");
        var name = namespaces.Add(Listeners);

        var (code, stdout, stderr) = RunAs(executable, namespaces.Directory.FullName, "--inh-caps=-all", "--bounding-set=-all");

        Assert.True(code == 0, $"exit {code}: {stderr}");
        Assert.Contains("missing CAP_SYS_ADMIN and CAP_NET_ADMIN", stderr);
        var rows = JsonlRecords.Parse(stdout.Split('\n'));
        Assert.DoesNotContain(rows, r => r.Netns == name);
        Assert.NotEmpty(rows); // the host namespace is still collected
    }

    private static (int Code, string Stdout, string Stderr) RunAs(string executable, string netnsDir, params string[] capabilityArgs)
    {
        var psi = new ProcessStartInfo("setpriv")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = "/",
        };
        foreach (var arg in new[] { $"--reuid={User}", $"--regid={User}", "--init-groups" }) psi.ArgumentList.Add(arg);
        foreach (var arg in capabilityArgs) psi.ArgumentList.Add(arg);
        foreach (var arg in new[] { "--", executable, "collect", "--dest", "stdout", "--marshal", "jsonl", "--frequency", "1s",
                     "--max-loops", "1", "--netns-dirs", netnsDir, "--metrics-listen", "", "--control-socket", "" })
            psi.ArgumentList.Add(arg);
        // The AOT executable needs no .NET runtime (no DOTNET_ROOT); HOME must be somewhere the user may read.
        psi.Environment["HOME"] = "/tmp";
        foreach (var key in psi.Environment.Keys.Where(k => k.StartsWith("XTCP_", StringComparison.Ordinal)).ToList())
            psi.Environment.Remove(key);

        using var process = Process.Start(psi)!;
        var stderrTask = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(TimeSpan.FromSeconds(60)))
        {
            process.Kill();
            throw new TimeoutException("daemon did not finish one loop");
        }
        return (process.ExitCode, stdout, stderrTask.Result);
    }

    private static void EnsureUser()
    {
        if (Shell.TryRun("id", "-u", User).Code == 0) return;
        var (code, _, stderr) = Shell.TryRun("useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", User);
        // Another test process may have created it meanwhile (exit 9 = exists).
        if (code != 0 && code != 9) throw new InvalidOperationException("useradd failed: " + stderr);
    }
}
