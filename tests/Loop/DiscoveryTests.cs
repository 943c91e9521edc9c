using System.Diagnostics;
using XtcpEpoll.Loop;
using XtcpEpoll.Netlink.Native;
using Xunit;

namespace XtcpEpoll.Tests.Loop;

/// <summary>Namespace sources: host, bind mounts (one namespace seen twice is one), /proc scan.</summary>
public sealed class DiscoveryTests
{
    private static readonly TimeSpan PollWait = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Host_is_named_host_a_doubly_mounted_namespace_is_one_and_proc_scan_finds_anonymous_ones()
    {
        using var farm = new TestNamespaceFarm("loop-disc");
        var ns = farm.Create(SocketKit.Listener);
        farm.MountAlias(ns, "zz-alias");
        using var anonymous = Process.Start(new ProcessStartInfo("unshare", "-n sleep 120") { UseShellExecute = false })!;
        try
        {
            var anonymousInode = WaitForOwnNamespace(anonymous.Id);
            var options = CollectorHarness.OptionsFor(farm);
            options.IncludeHost = true;
            options.ProcScan = true;
            using var harness = new CollectorHarness(options);
            harness.Start();
            harness.WaitForPolls(1, PollWait);

            var namespaces = await harness.Collector.GetNamespacesAsync();
            var hostInode = Files.Stat("/proc/self/ns/net").Inode;
            Assert.Contains(namespaces, n => n.Name == "default" && n.Inode == hostInode && n.Open);
            Assert.Single(namespaces, n => n.Inode == ns.Inode);
            Assert.Contains(namespaces, n => n.Inode == ns.Inode && n.Open && (n.Name == ns.Name || n.Name == "zz-alias"));
            Assert.Contains(namespaces, n => n.Inode == anonymousInode && n.Name == $"netns:[{anonymousInode}]" && n.Open);

            var poll = harness.Sink.Poll(0);
            Assert.Single(poll, r => r.NetnsInode == ns.Inode); // one listener, reported once despite two mounts
            Assert.All(poll.Where(r => r.NetnsInode == hostInode), r => Assert.Equal("default", r.Netns));
        }
        finally
        {
            anonymous.Kill();
            anonymous.WaitForExit();
        }
    }

    [Fact]
    public void A_watched_directory_that_appears_later_is_picked_up_by_its_parent_watch()
    {
        using var farm = new TestNamespaceFarm("loop-latedir");
        var ns = farm.Create(SocketKit.Listener);
        var later = Path.Combine(farm.Dir, "later");
        var options = CollectorHarness.OptionsFor(farm);
        options.NetnsDirs = [later];
        using var harness = new CollectorHarness(options);
        string? alias = null;
        try
        {
            harness.Start();
            harness.WaitForPolls(1, PollWait);
            Assert.Equal(0, harness.Collector.NamespacesOpen);

            Directory.CreateDirectory(later);
            alias = farm.MountAlias(ns, Path.Combine("later", "late-ns"));
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10); // reconcile is 60 s: only the watch can do it
            while (harness.Collector.NamespacesOpen == 0 && DateTime.UtcNow < deadline) harness.PollOnce(PollWait);
            harness.PollOnce(PollWait);

            var poll = harness.Sink.Poll(harness.Sink.Polls - 1);
            Assert.Single(poll);
            Assert.Equal("late-ns", poll[0].Netns);
            Assert.Equal(ns.Inode, poll[0].NetnsInode);
        }
        finally
        {
            if (alias != null) { Mounts.Detach(alias); File.Delete(alias); }
            if (Directory.Exists(later)) Directory.Delete(later);
        }
    }

    /// <summary>Waits until the child has unshared its network namespace; returns that namespace's inode.</summary>
    private static ulong WaitForOwnNamespace(int pid)
    {
        var host = Files.Stat("/proc/self/ns/net").Inode;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (DateTime.UtcNow < deadline)
        {
            var inode = Files.Stat($"/proc/{pid}/ns/net").Inode;
            if (inode != 0 && inode != host) return inode;
            Thread.Sleep(10); // polling another process's state: there is no event to wait on
        }
        throw new TimeoutException("unshare -n child did not get its own namespace");
    }
}
