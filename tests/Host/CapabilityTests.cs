using XtcpEpoll.Host.Lifecycle;
using XtcpEpoll.Loop;
using Xunit;

namespace XtcpEpoll.Tests.Host;

public class CapabilityTests
{
    private const string StatusFull = "Name:\tx\nCapInh:\t0000000000000000\nCapPrm:\t000001ffffffffff\nCapEff:\t000001ffffffffff\n";
    // CAP_NET_ADMIN (12) + CAP_SYS_ADMIN (21) only.
    private const string StatusNamespaces = "CapEff:\t0000000000201000\n";

    [Fact]
    public void Parses_cap_eff_bits()
    {
        var caps = Capabilities.Parse(StatusNamespaces);
        Assert.True(caps.Has(Capability.SysAdmin));
        Assert.True(caps.Has(Capability.NetAdmin));
        Assert.False(caps.Has(Capability.SysPtrace));
        Assert.True(Capabilities.Parse(StatusFull).Has(Capability.SysPtrace));
    }

    [Fact]
    public void Without_sys_admin_only_the_host_namespace_is_collected_and_the_warning_names_it()
    {
        var options = new CollectorOptions { NetnsDirs = ["/run/netns"], ProcScan = true };

        var warnings = PrivilegePlan.Apply(Capabilities.Parse("CapEff:\t0000000000001000\n"), options);

        Assert.Contains("CAP_SYS_ADMIN", Assert.Single(warnings));
        Assert.Empty(options.NetnsDirs);
        Assert.False(options.ProcScan);
    }

    [Fact]
    public void Proc_scan_without_ptrace_warns_and_keeps_going()
    {
        var options = new CollectorOptions { NetnsDirs = ["/run/netns"], ProcScan = true };

        var warnings = PrivilegePlan.Apply(Capabilities.Parse(StatusNamespaces), options);

        Assert.Contains("CAP_SYS_PTRACE", Assert.Single(warnings));
        Assert.Equal(["/run/netns"], options.NetnsDirs);
    }

    [Fact]
    public void All_needed_capabilities_give_no_warning()
    {
        var options = new CollectorOptions { ProcScan = true };
        Assert.Empty(PrivilegePlan.Apply(Capabilities.Parse(StatusFull), options));
        Assert.True(options.ProcScan);
    }

    [Fact]
    public void This_test_process_runs_as_root_with_sys_admin()
        => Assert.True(Capabilities.ReadSelf().Has(Capability.SysAdmin));
}
