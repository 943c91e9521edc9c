using System.Diagnostics;
using Xunit;

namespace XtcpEpoll.Tests.Host;

/// <summary>deploy/xtcp-epoll.service: hardened as documented, and accepted by systemd itself.</summary>
public class SystemdUnitTests
{
    private static readonly string UnitPath = Path.Combine(TestPaths.RepoRoot, "deploy", "xtcp-epoll.service");

    private static Dictionary<string, string> Service()
    {
        var keys = new Dictionary<string, string>();
        var section = "";
        foreach (var raw in File.ReadAllLines(UnitPath))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] is '#' or ';') continue;
            if (line[0] == '[') { section = line.Trim('[', ']'); continue; }
            var eq = line.IndexOf('=');
            Assert.True(eq > 0, $"not a key=value line: {line}");
            keys[section + "." + line[..eq]] = line[(eq + 1)..];
        }
        return keys;
    }

    [Fact]
    public void Unit_runs_unprivileged_with_only_the_namespace_capabilities()
    {
        var unit = Service();
        Assert.Equal("yes", unit["Service.DynamicUser"]);
        Assert.Equal(["CAP_NET_ADMIN", "CAP_SYS_ADMIN"], unit["Service.AmbientCapabilities"].Split(' ').Order());
        Assert.Equal(["CAP_NET_ADMIN", "CAP_SYS_ADMIN"], unit["Service.CapabilityBoundingSet"].Split(' ').Order());
        Assert.Equal("yes", unit["Service.NoNewPrivileges"]);
        Assert.Equal("strict", unit["Service.ProtectSystem"]);
        Assert.Equal("yes", unit["Service.ProtectHome"]);
        Assert.Equal("yes", unit["Service.PrivateTmp"]);
        Assert.Equal("on-failure", unit["Service.Restart"]);
        Assert.StartsWith("-/etc/xtcp-epoll/", unit["Service.EnvironmentFile"]);
        Assert.EndsWith("xtcp-epoll collect", unit["Service.ExecStart"]);
        // The AOT executable meets the RSS goal without the JIT build's DOTNET_GCgen0size (PERFORMANCE.md "Native AOT").
        Assert.False(unit.ContainsKey("Service.Environment"), "runtime knobs in the unit: " + unit.GetValueOrDefault("Service.Environment"));
        Assert.False(unit.ContainsKey("Service.ReadWritePaths"), "the daemon writes nothing on disk by default");
        Assert.Equal("multi-user.target", unit["Install.WantedBy"]);
    }

    [Fact]
    public void The_credentials_example_names_files_under_etc_and_credentials_the_daemon_reads()
    {
        var text = File.ReadAllText(UnitPath);
        Assert.Contains("#LoadCredential=kafka-password:/etc/xtcp-epoll/secrets/kafka-password", text);
        Assert.Contains("sasl.password=@${CREDENTIALS_DIRECTORY}/kafka-password", text);
        Assert.Contains("XTCP_HTTP_HEADER='Authorization=@${CREDENTIALS_DIRECTORY}/http-auth'", text);
    }

    [TheoryWhenInstalled("systemd-analyze")]
    [InlineData(false)]
    [InlineData(true)]
    public void Systemd_analyze_verify_reports_nothing(bool withCredentials)
    {
        var dir = Directory.CreateTempSubdirectory("xt-host-unit-");
        try
        {
            // verify insists the ExecStart binary exists: point it at the built apphost.
            var apphost = Path.Combine(AppContext.BaseDirectory, "xtcp-epoll");
            var text = File.ReadAllText(UnitPath).Replace("/opt/xtcp-epoll/xtcp-epoll", apphost, StringComparison.Ordinal);
            // The LoadCredential= example, as an operator enables it.
            if (withCredentials) text = text.Replace("#LoadCredential=", "LoadCredential=", StringComparison.Ordinal);
            var copy = Path.Combine(dir.FullName, "xtcp-epoll.service");
            File.WriteAllText(copy, text);

            var psi = new ProcessStartInfo(FactWhenInstalledAttribute.Locate("systemd-analyze")!, ["verify", copy])
            {
                RedirectStandardError = true,
                RedirectStandardOutput = true,
            };
            using var process = Process.Start(psi)!;
            var stderr = process.StandardError.ReadToEnd();
            var stdout = process.StandardOutput.ReadToEnd();
            process.WaitForExit();

            Assert.Equal(0, process.ExitCode);
            // verify exits 0 even for unknown keys or bad values: any diagnostic at all is a failure.
            Assert.Equal("", (stderr + stdout).Trim());
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
