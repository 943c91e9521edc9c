using System.Net;
using System.Net.Sockets;
using XtcpEpoll.Loop;
using XtcpEpoll.Loop.Namespaces;
using Xunit;

namespace XtcpEpoll.Tests.Loop.Attribution;

/// <summary>
/// Pod and container names end to end: a real collector, real namespaces, real cgroups named as containerd and
/// CRI-O name them in Kubernetes, and a kubelet log tree in a temporary directory (--pod-logs-dir,
/// --container-logs-dir).
/// </summary>
public sealed class PodNamesCollectorTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    private const string StaticUid = "3f2a9b1c0d4e5f60718293a4b5c6d7e8";

    private static string Hex(int seed) => AttributionCollectorTests.Hex(seed);
    private static string Uid(int seed) => AttributionCollectorTests.Uid(seed);
    private static string PodSlice(string qos, string uid) => AttributionCollectorTests.PodSlice(qos, uid);

    [Fact]
    public void Records_carry_pod_and_container_names_from_the_kubelet_log_tree()
    {
        using var farm = new TestNamespaceFarm("names");
        using var cgroups = new TestCgroups("names");
        using var tree = new TestLogTree();
        string podA = Uid(300), sandboxA = Hex(300), appA = Hex(301), etcd = Hex(302), podC = Uid(303), exporter = Hex(303);

        // Pod A (containerd): the sandbox starts first (the namespace's owner: pod names, no container name), then "app".
        var nsA = farm.Create(SocketKit.PairV4);
        cgroups.StartProcess(cgroups.Create($"{PodSlice("burstable", podA)}/cri-containerd-{sandboxA}.scope"), nsA.Path, nsA.Expected[0].SourcePort);
        var app = cgroups.StartProcess(cgroups.Create($"{PodSlice("burstable", podA)}/cri-containerd-{appA}.scope"), nsA.Path, nsA.Expected[0].SourcePort);
        tree.AddContainer("shop", "web-0", podA, "app", appA);
        // Pod B: a static pod under CRI-O (its uid is the config hash); its container's log link comes late.
        var nsB = farm.Create(SocketKit.PairV4);
        var etcdProcess = cgroups.StartProcess(cgroups.Create($"{PodSlice("burstable", StaticUid)}/crio-{etcd}.scope"), nsB.Path, nsB.Expected[0].SourcePort);
        tree.AddPod("kube-system", "etcd-node1", StaticUid);
        // Pod C: host network (the host namespace), found by its socket's cgroup only.
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(4);
        int hostPort = ((IPEndPoint)listener.LocalEndPoint!).Port;
        var exporterProcess = cgroups.StartProcess(cgroups.Create($"{PodSlice("besteffort", podC)}/cri-containerd-{exporter}.scope"), null, hostPort);
        tree.AddContainer("monitoring", "node-exporter-x7k2p", podC, "exporter", exporter);

        var options = CollectorHarness.OptionsFor(farm);
        options.IncludeHost = true;
        options.CgroupRoot = cgroups.Root;
        options.PodLogsDir = tree.PodLogs;
        options.ContainerLogsDir = tree.ContainerLogs;
        options.Frequency = TimeSpan.FromMilliseconds(500);
        options.Timeout = TimeSpan.FromMilliseconds(400);
        options.JitterPct = 0;
        using var harness = new CollectorHarness(options);
        harness.Start();
        harness.WaitForPolls(1, Wait);

        var first = harness.Sink.Poll(0);
        var a = first.Where(r => r.Netns == nsA.Name).ToList();
        Assert.Equal(("shop", "web-0", "app"), Assert.Single(a, r => r.SourcePort == app.ClientPort).Names);
        Assert.All(a.Where(r => !r.AttributedBySocketCgroup), r => Assert.Equal(("shop", "web-0", ""), r.Names)); // the sandbox's
        var b = first.Where(r => r.Netns == nsB.Name).ToList();
        Assert.NotEmpty(b);
        Assert.All(b, r => Assert.Equal(("kube-system", "etcd-node1", ""), r.Names)); // no link yet: no container name
        var host = first.Where(r => r.Netns == NamespaceEntry.HostName).ToList();
        Assert.Equal(("monitoring", "node-exporter-x7k2p", "exporter"),
            Assert.Single(host, r => r.SourcePort == exporterProcess.ClientPort && r.DestinationPort == hostPort).Names);
        Assert.All(host.Where(r => r.PodUid.Length == 0), r => Assert.Equal(("", "", ""), r.Names));

        // The kubelet links the static pod's container log after it started: later polls name it.
        tree.AddContainer("kube-system", "etcd-node1", StaticUid, "etcd", etcd);
        WaitForPoll(harness, poll => poll.Any(r => r.Netns == nsB.Name && r.SourcePort == etcdProcess.ClientPort && r.Names == ("kube-system", "etcd-node1", "etcd")),
            "the static pod's container named");

        // Pod A is deleted: its log directory goes first here (the worst order), then its app closes its connection.
        tree.RemovePod("shop", "web-0", podA);
        app.Stop();
        var destroyed = harness.Sink.WaitForDestroyed(d => d.Any(r => r.Netns == nsA.Name && r.SourcePort == app.ClientPort), Wait);
        Assert.Equal(("shop", "web-0", ""), destroyed.First(r => r.Netns == nsA.Name && r.SourcePort == app.ClientPort).Names); // the namespace's (sandbox) names
    }

    [Fact]
    public void Without_a_log_tree_records_keep_their_ids_and_the_missing_directory_is_counted()
    {
        using var farm = new TestNamespaceFarm("names-none");
        using var cgroups = new TestCgroups("names-none");
        string pod = Uid(310), container = Hex(310);
        var ns = farm.Create(SocketKit.PairV4);
        cgroups.StartProcess(cgroups.Create($"{PodSlice("burstable", pod)}/cri-containerd-{container}.scope"), ns.Path, ns.Expected[0].SourcePort);
        var options = CollectorHarness.OptionsFor(farm);
        options.CgroupRoot = cgroups.Root;
        options.PodLogsDir = "/nonexistent/xtcp-test/pods";
        options.ContainerLogsDir = "/nonexistent/xtcp-test/containers";
        double before = XtcpEpoll.Loop.Attribution.AttributionMetrics.LogDirUnreadable.Value;

        var polls = CollectorHarness.RunPolls(options, 1, Wait);

        var mine = polls[0].Where(r => r.Netns == ns.Name).ToList();
        Assert.NotEmpty(mine);
        Assert.All(mine, r => Assert.Equal((container, pod, ("", "", "")), (r.ContainerId, r.PodUid, r.Names)));
        Assert.True(XtcpEpoll.Loop.Attribution.AttributionMetrics.LogDirUnreadable.Value - before >= 2, "both missing directories counted");
    }

    private static void WaitForPoll(CollectorHarness harness, Func<IReadOnlyList<SeenRecord>, bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Wait;
        int seen = 0;
        while (true)
        {
            for (; seen < harness.Sink.Polls; seen++)
                if (condition(harness.Sink.Poll(seen))) return;
            if (DateTime.UtcNow > deadline) throw new TimeoutException("no poll showed " + what);
            harness.WaitForPolls(seen + 1, deadline - DateTime.UtcNow > TimeSpan.Zero ? deadline - DateTime.UtcNow : TimeSpan.Zero);
        }
    }
}
