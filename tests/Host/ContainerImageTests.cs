using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using XtcpEpoll.Tests.Loop;
using XtcpEpoll.Tests.Loop.Attribution;
using Xunit;
using Xunit.Abstractions;
using static XtcpEpoll.Tests.Host.KubernetesManifest;

namespace XtcpEpoll.Tests.Host;

/// <summary>
/// The OCI image for real: built by deploy/container/build.sh from the repo's Containerfile on a base made here
/// from Debian packages, run by podman with the DaemonSet's pod settings (<see cref="PodmanFlags"/>) on a fake
/// Kubernetes node: pod network namespaces, processes in cgroups named as containerd and CRI-O name them, and a
/// kubelet log tree. Leaves no container and no image of its own behind (the base image is kept: it is keyed
/// by its content and reused).
/// </summary>
public sealed class ContainerImageTests(ITestOutputHelper log)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private const string StaticUid = "3f2a9b1c0d4e5f60718293a4b5c6d7e8";
    private const long MaxImageBytes = 100L * 1000 * 1000;
    /// <summary>The daemon's OS threads (DaemonLifecycleTests' bound: loop threads 2 + 2 x workers, sinks, metrics, runtime).</summary>
    private const int ThreadBudget = 24;

    [FactWhenInstalled("podman")]
    public void The_image_runs_with_the_DaemonSet_settings_and_names_pods_from_the_node()
    {
        Assert.True(FactWhenInstalledAttribute.Locate("mmdebstrap") != null, "mmdebstrap is not installed (.ci/run installs it)");
        var clock = Stopwatch.StartNew();
        var baseImage = Podman.EnsureBase();
        log.WriteLine($"base {baseImage} ready after {clock.Elapsed.TotalSeconds:F0} s");
        var tag = $"localhost/xtcp-epoll-test:{Random.Shared.Next(100000, 999999)}";
        var name = "xt-image-" + Random.Shared.Next(100000, 999999);
        var node = Directory.CreateTempSubdirectory("xt-node-").FullName;
        var netnsDir = Path.Combine(node, "netns");
        var bound = new List<string>();
        try
        {
            // The image holds the shipped binary every daemon-level test runs: the AOT publish made once per test
            // run (test.sh's, or the first test's; PublishedBinary), not a second one.
            string published = Path.GetDirectoryName(PublishedBinary.Executable)!;
            Podman.Exec(Path.Combine(TestPaths.RepoRoot, "deploy", "container", "build.sh"), ["--base", baseImage, "--tag", tag, "--publish-dir", published],
                TimeSpan.FromMinutes(20), new Dictionary<string, string>());
            log.WriteLine($"image {tag} built after {clock.Elapsed.TotalSeconds:F0} s");
            CheckImage(tag);

            using var farm = new TestNamespaceFarm("image");
            using var cgroups = new TestCgroups("image");
            using var tree = new TestLogTree();
            // /run/netns as `ip netns` leaves it: a shared mount, so namespaces added later reach the container (rslave).
            Directory.CreateDirectory(netnsDir);
            Shell.Run("mount", "--bind", netnsDir, netnsDir);
            bound.Add(netnsDir);
            Shell.Run("mount", "--make-shared", netnsDir);
            var dockerNetns = Directory.CreateDirectory(Path.Combine(node, "docker-netns")).FullName;
            var output = Directory.CreateDirectory(Path.Combine(node, "out")).FullName;

            // Pod A (containerd): its sandbox (the namespace's owner: pod names, no container name), then "app".
            string podA = AttributionCollectorTests.Uid(400), sandboxA = AttributionCollectorTests.Hex(400), appA = AttributionCollectorTests.Hex(401);
            var nsA = farm.Create(SocketKit.PairV4);
            var netnsA = Bind(nsA.Path, netnsDir, "cni-a", bound);
            cgroups.StartProcess(cgroups.Create($"{AttributionCollectorTests.PodSlice("burstable", podA)}/cri-containerd-{sandboxA}.scope"), nsA.Path, nsA.Expected[0].SourcePort);
            var app = cgroups.StartProcess(cgroups.Create($"{AttributionCollectorTests.PodSlice("burstable", podA)}/cri-containerd-{appA}.scope"), nsA.Path, nsA.Expected[0].SourcePort);
            tree.AddContainer("shop", "web-0", podA, "app", appA);
            // Pod C: host network, found by its socket's cgroup.
            string podC = AttributionCollectorTests.Uid(402), exporter = AttributionCollectorTests.Hex(402);
            using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            listener.Listen(4);
            int hostPort = ((IPEndPoint)listener.LocalEndPoint!).Port;
            var exporterProcess = cgroups.StartProcess(cgroups.Create($"{AttributionCollectorTests.PodSlice("besteffort", podC)}/cri-containerd-{exporter}.scope"), null, hostPort);
            tree.AddContainer("monitoring", "node-exporter-x7k2p", podC, "exporter", exporter);

            int metricsPort = FreePort();
            var (flags, manifestEnv) = PodmanFlags.For(Single("DaemonSet"), Single("ConfigMap"),
                new Dictionary<string, string>
                {
                    ["/run/netns"] = netnsDir, ["/var/run/docker/netns"] = dockerNetns, ["/sys/fs/cgroup"] = "/sys/fs/cgroup",
                    ["/var/log/pods"] = tree.PodLogs, ["/var/log/containers"] = tree.ContainerLogs,
                },
                new Dictionary<string, string> { ["status.hostIP"] = "127.0.0.1", ["spec.nodeName"] = "test-node" },
                new Dictionary<string, string>
                {
                    // No broker here: records go to a file; faster polls; only this test's cgroups; a free port.
                    ["XTCP_DEST"] = "file:/out/records.jsonl", ["XTCP_MARSHAL"] = "jsonl", ["XTCP_FREQUENCY"] = "1s",
                    ["XTCP_CGROUP_ROOT"] = cgroups.Root, ["XTCP_METRICS_LISTEN"] = $"127.0.0.1:{metricsPort}",
                });
            Assert.Equal("127.0.0.1:9088", manifestEnv["XTCP_METRICS_LISTEN"]); // the node's address, where the kubelet probes
            Podman.Run(["run", "--detach", "--name", name, .. flags, $"--volume={output}:/out:rw", tag]);
            int pid = int.Parse(Podman.Run("inspect", "--format", "{{.State.Pid}}", name).Trim());
            log.WriteLine($"container {name} (pid {pid}) started after {clock.Elapsed.TotalSeconds:F0} s");

            WaitFor(() => TryGet(metricsPort, "/readyz") == 200, "readiness 200");
            // Pod B, a static pod under CRI-O, appears on the node after the daemon started.
            var etcd = AttributionCollectorTests.Hex(403);
            tree.AddContainer("kube-system", "etcd-node1", StaticUid, "etcd", etcd);
            var nsB = farm.Create(SocketKit.PairV4);
            var etcdProcess = cgroups.StartProcess(cgroups.Create($"{AttributionCollectorTests.PodSlice("burstable", StaticUid)}/crio-{etcd}.scope"), nsB.Path, nsB.Expected[0].SourcePort);
            var netnsB = Bind(nsB.Path, netnsDir, "cni-b", bound);

            var records = Path.Combine(output, "records.jsonl");
            WaitFor(() =>
            {
                var rows = Read(records);
                return rows.Any(r => r.Netns == netnsA && r.SourcePort == app.ClientPort)
                    && rows.Any(r => r.Netns == "default" && r.SourcePort == exporterProcess.ClientPort)
                    && rows.Any(r => r.Netns == netnsB && r.SourcePort == etcdProcess.ClientPort && r.Names.Container == "etcd");
            }, "records of the three pods");
            var all = Read(records);
            Assert.Equal(("shop", "web-0", "app"), all.First(r => r.Netns == netnsA && r.SourcePort == app.ClientPort).Names);
            Assert.All(all.Where(r => r.Netns == netnsA && r.SourcePort != app.ClientPort), r => Assert.Equal(("shop", "web-0", ""), r.Names));
            Assert.Equal(("monitoring", "node-exporter-x7k2p", "exporter"),
                all.First(r => r.Netns == "default" && r.SourcePort == exporterProcess.ClientPort && r.DestinationPort == hostPort).Names);
            // A poll may catch pod B's namespace before its first attribution pass (~50 ms after it appeared): no
            // names yet then, but never another pod's.
            Assert.All(all.Where(r => r.Netns == netnsB), r => Assert.Contains((r.Names.Namespace, r.Names.Pod), new[] { ("kube-system", "etcd-node1"), ("", "") }));

            // Pod A is deleted: its log directory goes, then its app's connection closes (a destroy record).
            tree.RemovePod("shop", "web-0", podA);
            app.Stop();
            WaitFor(() => Read(records).Any(r => r.Origin == 1 && r.Netns == netnsA && r.SourcePort == app.ClientPort), "the destroy record of pod A's app");
            Assert.Equal(("shop", "web-0", ""), Read(records).First(r => r.Origin == 1 && r.Netns == netnsA && r.SourcePort == app.ClientPort).Names);

            var threads = Directory.GetDirectories($"/proc/{pid}/task").Length;
            Assert.True(threads <= ThreadBudget, $"{threads} threads in the container's daemon, budget {ThreadBudget}");
            var metrics = HttpGet.Get(metricsPort, "/metrics").Body;
            Assert.True(HttpGet.Metric(metrics, "xtcp_os_threads") is > 0 and <= ThreadBudget, "xtcp_os_threads " + HttpGet.Metric(metrics, "xtcp_os_threads"));
            Assert.True(HttpGet.Metric(metrics, "xtcp_attribution_pods_named") >= 2);

            // PID 1 handles SIGTERM: `podman stop` (SIGTERM, then SIGKILL after 20 s) ends it with exit code 0.
            var stopping = Stopwatch.StartNew();
            Podman.Run("stop", "--time", "20", name);
            Assert.Equal("0", Podman.Run("inspect", "--format", "{{.State.ExitCode}}", name).Trim());
            Assert.True(stopping.Elapsed < TimeSpan.FromSeconds(15), $"stop took {stopping.Elapsed}: SIGTERM was not handled");
            log.WriteLine($"done after {clock.Elapsed.TotalSeconds:F0} s; {threads} threads");
        }
        finally
        {
            Podman.TryRun("rm", "--force", "--time", "0", name);
            Podman.TryRun("rmi", "--force", tag);
            foreach (var mount in Enumerable.Reverse(bound)) Shell.TryRun("umount", "--lazy", mount);
            Directory.Delete(node, recursive: true);
        }
    }

    /// <summary>Size within the goal, OCI labels set, and no shell inside.</summary>
    private void CheckImage(string tag)
    {
        var size = long.Parse(Podman.Run("image", "inspect", "--format", "{{.Size}}", tag).Trim());
        log.WriteLine($"image size {size / 1e6:F1} MB");
        Assert.True(size <= MaxImageBytes, $"image is {size / 1e6:F1} MB, goal {MaxImageBytes / 1e6} MB");
        Assert.Equal("xtcp-epoll", Podman.Run("image", "inspect", "--format", "{{index .Labels \"org.opencontainers.image.title\"}}", tag).Trim());
        Assert.NotEqual("unknown", Podman.Run("image", "inspect", "--format", "{{index .Labels \"org.opencontainers.image.revision\"}}", tag).Trim());
        var shell = Podman.TryRun("run", "--rm", "--entrypoint", "/bin/sh", tag, "-c", "true");
        Assert.NotEqual(0, shell.Code);
    }

    private static string Bind(string nsPath, string dir, string name, List<string> bound)
    {
        var target = Path.Combine(dir, name);
        File.WriteAllBytes(target, []);
        Shell.Run("mount", "--bind", nsPath, target);
        bound.Add(target);
        return name;
    }

    private sealed record Row(string Netns, int SourcePort, int DestinationPort, int Origin, (string Namespace, string Pod, string Container) Names);

    /// <summary>The records written so far (a last line still being written is skipped).</summary>
    private static List<Row> Read(string path)
    {
        var rows = new List<Row>();
        if (!File.Exists(path)) return rows;
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        while (reader.ReadLine() is { } line)
        {
            JsonDocument doc;
            try { doc = JsonDocument.Parse(line); }
            catch (JsonException) { continue; }
            using (doc)
            {
                var o = doc.RootElement;
                rows.Add(new Row(Str(o, "netns"), Int(o, "inetDiagMsgSocketSourcePort"), Int(o, "inetDiagMsgSocketDestinationPort"), Int(o, "recordOrigin"),
                    (Str(o, "podNamespace"), Str(o, "podName"), Str(o, "containerName"))));
            }
        }
        return rows;
    }

    private static string Str(JsonElement o, string name) => o.TryGetProperty(name, out var v) ? v.GetString() ?? "" : "";
    private static int Int(JsonElement o, string name) => o.TryGetProperty(name, out var v) ? v.GetInt32() : 0;

    private static int TryGet(int port, string path)
    {
        try { return HttpGet.Get(port, path).Status; }
        catch (SocketException) { return 0; }
        catch (IOException) { return 0; }
    }

    /// <summary>Polls <paramref name="condition"/> (the container's state is only observable from outside) until it holds.</summary>
    private static void WaitFor(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"not within {Patience}: {what}");
            Thread.Sleep(200);
        }
    }

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }
}
