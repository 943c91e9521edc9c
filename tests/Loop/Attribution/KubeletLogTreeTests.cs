using Microsoft.Extensions.Logging.Abstractions;
using XtcpEpoll.Loop.Attribution;
using XtcpEpoll.Sinks.Records;
using Xunit;

namespace XtcpEpoll.Tests.Loop.Attribution;

/// <summary>Pod and container names read from a kubelet log tree made in a temporary directory.</summary>
public sealed class KubeletLogTreeTests
{
    private const string Uid = "5e3a9c0d-1f2b-4a6c-8e0f-1a2b3c4d5e6f";
    private const string StaticUid = "3f2a9b1c0d4e5f60718293a4b5c6d7e8"; // a static pod: its config hash
    private static readonly string Id = new('a', 64), Id2 = new('b', 64);

    [Theory]
    [InlineData("shop_web-7d4b9c6f5-x2k8p_" + Uid, "shop", "web-7d4b9c6f5-x2k8p", Uid)]
    [InlineData("kube-system_etcd-node1_" + StaticUid, "kube-system", "etcd-node1", StaticUid)]
    public void A_pod_directory_name_gives_namespace_name_and_uid(string dir, string ns, string pod, string uid)
    {
        Assert.True(KubeletLogTree.TryParsePodDir(dir, out var n, out var p, out var u));
        Assert.Equal((ns, pod, uid), (n, p, u));
    }

    [Theory]
    [InlineData("no-underscores")]
    [InlineData("shop_web")]
    [InlineData("_web_" + Uid)]
    [InlineData("shop__" + Uid)]
    [InlineData("shop_web_")]
    [InlineData("shop_web_extra_" + Uid)]
    [InlineData("shop_web_0123456789012345678901234567890123456789")] // uid longer than 36
    public void A_malformed_pod_directory_name_is_refused(string dir) =>
        Assert.False(KubeletLogTree.TryParsePodDir(dir, out _, out _, out _));

    [Fact]
    public void Names_come_from_the_link_target_and_the_id_from_the_link_name_even_when_the_kubelet_cut_it()
    {
        using var tree = new TestLogTree();
        tree.AddContainer("shop", "web-0", Uid, "app", Id);
        tree.AddPod("kube-system", "etcd-node1", StaticUid); // a pod whose containers have no link yet
        string longPod = new('p', 150), longNs = new('n', 40);
        var cut = tree.AddContainer(longNs, longPod, "0b6ad24e-7a3c-4e35-9a7f-1f3c2d4e5f60", "sidecar", Id2);
        Assert.True(Path.GetFileName(cut).Length == 255, "the long link was not cut: the prefix case is not exercised");
        var logTree = new KubeletLogTree(tree.PodLogs, tree.ContainerLogs);

        var result = logTree.Scan();

        Assert.Equal((3, 1, 0), (result.Pods, result.Containers, result.Malformed)); // the cut id is a prefix, not a key
        Assert.True(logTree.TryPod(Uid, out var pod));
        Assert.Equal(("shop", "web-0"), (pod.Namespace, pod.Name));
        Assert.True(logTree.TryPod(StaticUid, out var staticPod));
        Assert.Equal(("kube-system", "etcd-node1"), (staticPod.Namespace, staticPod.Name));
        Assert.True(logTree.TryContainer(Id, out var container));
        Assert.Equal((Uid, "app"), (container.PodUid, container.Name));
        Assert.True(logTree.TryContainer(Id2, out var longOne)); // matched by the prefix the cut left
        Assert.Equal("sidecar", longOne.Name);
        Assert.True(logTree.TryPod("0b6ad24e-7a3c-4e35-9a7f-1f3c2d4e5f60", out var longPodNames));
        Assert.Equal((longNs, longPod), (longPodNames.Namespace, longPodNames.Name)); // full names, from the target
        Assert.False(logTree.TryContainer(new string('c', 64), out _));
    }

    [Fact]
    public void A_link_without_a_readable_target_is_named_by_its_own_name()
    {
        Assert.True(KubeletLogTree.TryParseLink($"web-0_shop_istio-proxy-{Id}.log", null, out var id, out var uid, out var ns, out var pod, out var container));
        Assert.Equal((Id, "", "shop", "web-0", "istio-proxy"), (id, uid, ns, pod, container));
        Assert.False(KubeletLogTree.TryParseLink($"web-0_shop_app-{Id}.txt", null, out _, out _, out _, out _, out _));
        Assert.False(KubeletLogTree.TryParseLink("web-0_shop_app-NOTHEX.log", null, out _, out _, out _, out _, out _));
        Assert.False(KubeletLogTree.TryParseLink($"web-0_app-{Id}.log", null, out _, out _, out _, out _, out _));
    }

    [Fact]
    public void Malformed_entries_are_skipped_and_counted_once()
    {
        using var tree = new TestLogTree();
        tree.AddContainer("shop", "web-0", Uid, "app", Id);
        Directory.CreateDirectory(Path.Combine(tree.PodLogs, "not-a-pod-dir"));
        File.WriteAllText(Path.Combine(tree.ContainerLogs, "stray.txt"), "");
        var logTree = new KubeletLogTree(tree.PodLogs, tree.ContainerLogs);

        Assert.Equal(2, logTree.Scan().Malformed);
        Assert.Equal(0, logTree.Scan().Malformed); // the same entries again: already counted
        Assert.True(logTree.TryContainer(Id, out _)); // the good entries are there all the same
    }

    [Fact]
    public void A_missing_directory_is_reported_and_the_other_still_read()
    {
        using var tree = new TestLogTree();
        tree.AddContainer("shop", "web-0", Uid, "app", Id);
        var logTree = new KubeletLogTree(Path.Combine(tree.Root, "absent"), tree.ContainerLogs);

        var result = logTree.Scan();

        Assert.Equal(Path.Combine(tree.Root, "absent"), result.UnreadablePodDir);
        Assert.Null(result.UnreadableContainerDir);
        Assert.True(logTree.TryPod(Uid, out var pod)); // pod names from the link target
        Assert.Equal("web-0", pod.Name);
    }

    [Fact]
    public void A_deleted_pod_keeps_its_names_for_the_records_of_its_last_sockets()
    {
        using var tree = new TestLogTree();
        tree.AddContainer("shop", "web-0", Uid, "app", Id);
        var logTree = new KubeletLogTree(tree.PodLogs, tree.ContainerLogs);
        logTree.Scan();
        tree.RemovePod("shop", "web-0", Uid);

        var result = logTree.Scan();

        Assert.Equal((0, 0), (result.Pods, result.Containers));
        Assert.True(logTree.TryPod(Uid, out var pod));
        Assert.Equal("web-0", pod.Name);
        Assert.True(logTree.TryContainer(Id, out var container));
        Assert.Equal("app", container.Name);
    }

    [Fact]
    public void The_namer_names_at_once_what_the_tree_shows_and_supersedes_later_what_appears_after()
    {
        using var tree = new TestLogTree();
        tree.AddPod("shop", "web-0", Uid);
        var logTree = new KubeletLogTree(tree.PodLogs, tree.ContainerLogs);
        var namer = new PodNamer(logTree, NullLogger.Instance);
        namer.Scan();
        var interner = new AttributionInterner(namer);

        var app = interner.Get(Id, "containerd", Uid);          // container started, log link not written yet
        var sandbox = interner.Get(Id2, "containerd", Uid);     // the pause container: never gets a link
        var docker = interner.Get(new string('d', 64), "docker", ""); // no pod: nothing to name, nothing to wait for

        Assert.Equal(("shop", "web-0", ""), (app.Latest.PodNamespace, app.Latest.PodName, app.Latest.ContainerName));
        Assert.Equal(("shop", "web-0", ""), (sandbox.Latest.PodNamespace, sandbox.Latest.PodName, sandbox.Latest.ContainerName));
        Assert.Equal("", docker.Latest.PodName);
        Assert.Equal(2, namer.WaitingCount);
        Assert.NotEqual(long.MaxValue, namer.DueAt());

        tree.AddContainer("shop", "web-0", Uid, "app", Id);
        while (System.Diagnostics.Stopwatch.GetTimestamp() < namer.DueAt()) Thread.Sleep(50); // its retry time, by the namer's clock
        namer.RunIfDue();

        Assert.Equal("app", app.Latest.ContainerName);
        Assert.Same(app, interner.Get(Id, "containerd", Uid)); // holders keep the first object; stampers read Latest
        Assert.Equal("", sandbox.Latest.ContainerName);
        Assert.Equal(1, namer.WaitingCount); // the sandbox waits until the namer gives up
    }
}
