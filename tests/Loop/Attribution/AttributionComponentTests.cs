using Microsoft.Extensions.Logging.Abstractions;
using XtcpEpoll.Loop.Attribution;
using XtcpEpoll.Sinks.Records;
using Xunit;

namespace XtcpEpoll.Tests.Loop.Attribution;

/// <summary>
/// The attribution components on their own, against the real kernel: cgroups named as the runtimes name
/// theirs, real processes in them, real network namespaces.
/// </summary>
public sealed class AttributionComponentTests
{
    private const string DockerId = "1d0c6b7a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a1f0e9d8c";
    private const string ContainerdId = "2e1d0c9b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d";
    private const string PodUid = "7c9e6679-7425-40de-944b-e07fc1f90ae7";
    private static string PodSlice => "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + PodUid.Replace('-', '_') + ".slice";

    [Fact]
    public void A_walk_maps_each_container_cgroup_inode_to_its_owner_and_learns_unowned_ids_from_misses()
    {
        using var cgroups = new TestCgroups("walk");
        var docker = cgroups.Create($"system.slice/docker-{DockerId}.scope");
        var dockerInit = cgroups.Create($"system.slice/docker-{DockerId}.scope/init");
        var pod = cgroups.Create(PodSlice);
        var containerd = cgroups.Create($"{PodSlice}/cri-containerd-{ContainerdId}.scope");
        var plain = cgroups.Create("system.slice/sshd.service");

        var cache = new CgroupAttributionCache();
        var interner = new AttributionInterner();
        var walker = new CgroupWalker(cgroups.Root);
        var result = cache.Refresh(walker, interner, TestCgroups.IdOf(cgroups.Root));

        Assert.Equal(4, result.Owned); // docker scope + its init, the pod slice, the containerd scope
        var map = cache.Current;
        Assert.Equal((DockerId, "docker", ""), Owner(map[TestCgroups.IdOf(docker)]));
        Assert.Same(map[TestCgroups.IdOf(docker)], map[TestCgroups.IdOf(dockerInit)]); // shared, not copied
        Assert.Equal(("", "", PodUid), Owner(map[TestCgroups.IdOf(pod)]));
        Assert.Equal((ContainerdId, "containerd", PodUid), Owner(map[TestCgroups.IdOf(containerd)]));
        Assert.True(map[TestCgroups.IdOf(cgroups.Root)].IsNone);
        ulong plainId = TestCgroups.IdOf(plain);
        Assert.False(map.ContainsKey(plainId)); // not stat'ed by the walk: learnt from a miss

        // A miss on a cgroup outside any container: the next walk settles it as unowned, for good.
        var before = map;
        cache.ReportMiss(plainId);
        Assert.True(cache.HasMisses);
        cache.Refresh(walker, interner, 0);
        Assert.NotSame(before, cache.Current);
        Assert.True(cache.Current[plainId].IsNone);
        Assert.False(cache.HasMisses);

        // A container gone: its cgroup drops out at the next walk; unowned ids stay known.
        cgroups.Remove(dockerInit);
        cgroups.Remove(docker);
        cache.Refresh(walker, interner, 0);
        Assert.DoesNotContain(cache.Current.Values, a => a.ContainerId == DockerId);
        Assert.True(cache.Current[plainId].IsNone);
        Assert.Equal((ContainerdId, "containerd", PodUid), Owner(cache.Current[TestCgroups.IdOf(containerd)]));
    }

    [Fact]
    public void A_socket_reports_the_inode_of_the_cgroup_its_process_was_in_when_it_was_created()
    {
        // The premise of per-socket attribution, checked against the kernel: INET_DIAG_CGROUP_ID == st_ino.
        using var farm = new TestNamespaceFarm("attr-cgid");
        using var cgroups = new TestCgroups("cgid");
        var ns = farm.Create(SocketKit.Listener);
        var scope = cgroups.Create($"system.slice/docker-{DockerId}.scope");
        using var process = cgroups.StartProcess(scope, ns.Path, ns.Expected[0].SourcePort);

        var records = CollectorHarness.RunPolls(CollectorHarness.OptionsFor(farm), 1, TimeSpan.FromSeconds(30))[0];
        var client = Assert.Single(records, r => r.SourcePort == process.ClientPort);
        Assert.Equal(TestCgroups.IdOf(scope), client.CgroupId);
    }

    [Fact]
    public void One_proc_pass_finds_the_owner_of_every_wanted_namespace()
    {
        using var farm = new TestNamespaceFarm("attr-finder");
        using var cgroups = new TestCgroups("finder");
        var dockerNs = farm.Create(SocketKit.Listener);
        var podNs = farm.Create(SocketKit.Listener);
        var plainNs = farm.Create(SocketKit.Listener);
        var emptyNs = farm.Create(SocketKit.None);
        cgroups.StartProcess(cgroups.Create($"system.slice/docker-{DockerId}.scope"), dockerNs.Path, dockerNs.Expected[0].SourcePort);
        cgroups.StartProcess(cgroups.Create($"{PodSlice}/cri-containerd-{ContainerdId}.scope"), podNs.Path, podNs.Expected[0].SourcePort);
        var plain = cgroups.StartProcess(cgroups.Create("system.slice/plain.service"), plainNs.Path, plainNs.Expected[0].SourcePort);

        var found = new Dictionary<ulong, NamespaceProcessFinder.Found>();
        var stats = new NamespaceProcessFinder().Scan([dockerNs.Inode, podNs.Inode, plainNs.Inode, emptyNs.Inode], found, new AttributionInterner());

        Assert.Equal((DockerId, "docker", ""), Owner(found[dockerNs.Inode].Attribution));
        Assert.Equal((ContainerdId, "containerd", PodUid), Owner(found[podNs.Inode].Attribution));
        Assert.Equal(plain.Pid, found[plainNs.Inode].Pid);
        Assert.True(found[plainNs.Inode].Attribution.IsNone); // a process, but in no container
        Assert.False(found.ContainsKey(emptyNs.Inode)); // no process at all
        // Only processes of wanted namespaces are read: the three holders, plus any child of theirs still
        // exiting (their ss pipeline) in the plain namespace, where no container was found to stop at.
        Assert.InRange(stats.CgroupReads, 3, 8);
        Assert.True(stats.Processes > stats.CgroupReads, $"{stats.Processes} processes, {stats.CgroupReads} cgroup reads");
    }

    [Fact]
    public void Retry_schedule_doubles_from_the_open_and_caps_at_five_minutes()
    {
        long f = System.Diagnostics.Stopwatch.Frequency;
        Assert.Equal(1 * f, AttributionService.NextAttempt(0, f / 20));
        Assert.Equal(2 * f, AttributionService.NextAttempt(0, f));
        Assert.Equal(8 * f, AttributionService.NextAttempt(0, 5 * f));
        Assert.Equal(256 * f, AttributionService.NextAttempt(0, 200 * f));
        Assert.Equal(1000 * f + 300 * f, AttributionService.NextAttempt(0, 1000 * f));
    }

    [Fact]
    public void The_service_attributes_a_namespace_only_for_the_handle_it_was_opened_with()
    {
        using var farm = new TestNamespaceFarm("attr-service");
        using var cgroups = new TestCgroups("service");
        var ns = farm.Create(SocketKit.Listener);
        cgroups.StartProcess(cgroups.Create($"system.slice/docker-{DockerId}.scope"), ns.Path, ns.Expected[0].SourcePort);
        var published = new List<NamespaceAttribution>();
        var service = new AttributionService(cgroups.Root, TimeSpan.FromSeconds(5), list => published.AddRange(list), NullLogger.Instance);

        service.NamespaceOpened(ns.Inode, handleId: 1);
        service.NamespaceRemoved(ns.Inode, handleId: 1);
        service.NamespaceOpened(ns.Inode, handleId: 2); // the same inode, a new handle (reopened, or reused)
        service.NamespaceRemoved(ns.Inode, handleId: 1); // a late removal of the old handle changes nothing
        bool done = false;
        service.RequestInitialPass(() => done = true);
        Assert.Equal(0, service.DueAt()); // due now
        service.Run();

        Assert.True(done);
        var a = Assert.Single(published);
        Assert.Equal((ns.Inode, 2UL), (a.Inode, a.HandleId));
        Assert.Equal(DockerId, a.Attribution.ContainerId);
        Assert.Equal(long.MaxValue, service.DueAt()); // attributed for good: nothing left to look for
    }

    [Fact]
    public void The_initial_pass_names_what_a_walk_before_it_found_before_the_log_tree_was_read()
    {
        using var cgroups = new TestCgroups("early-walk");
        using var tree = new TestLogTree();
        var app = cgroups.Create($"{PodSlice}/cri-containerd-{ContainerdId}.scope");
        tree.AddContainer("shop", "web-0", PodUid, "app", ContainerdId); // on disk before the service starts
        var service = new AttributionService(cgroups.Root, TimeSpan.FromSeconds(5), _ => { }, NullLogger.Instance,
            logTree: new KubeletLogTree(tree.PodLogs, tree.ContainerLogs));

        // A parse worker's miss makes a walk due at once, as an open does 50 ms after it: the opener runs it
        // before the control thread asked for the initial pass (a loaded host, many namespaces to open).
        service.Cgroups.ReportMiss(TestCgroups.IdOf(cgroups.Root));
        Assert.True(service.DueAt() <= System.Diagnostics.Stopwatch.GetTimestamp());
        service.Run();
        var early = service.Cgroups.Current[TestCgroups.IdOf(app)];
        Assert.Equal((ContainerdId, "containerd", PodUid), Owner(early));

        bool done = false;
        service.RequestInitialPass(() => done = true);
        service.Run();

        Assert.True(done);
        // Holders keep the object they were given (a namespace entry published by the early pass, too): that one
        // must lead to the names, as must what the initial walk holds.
        foreach (var held in new[] { early, service.Cgroups.Current[TestCgroups.IdOf(app)] })
            Assert.Equal(("shop", "web-0", "app"), (held.Latest.PodNamespace, held.Latest.PodName, held.Latest.ContainerName));
    }

    private static (string, string, string) Owner(RecordAttribution a) => (a.ContainerId, a.ContainerRuntime, a.PodUid);
}
