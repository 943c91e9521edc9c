using XtcpEpoll.Loop.Attribution;
using XtcpEpoll.Sinks.Records;
using Xunit;

namespace XtcpEpoll.Tests.Loop.Attribution;

/// <summary>Cgroup paths exactly as Docker, containerd, CRI-O, Podman and the kubelet name them.</summary>
public class CgroupPathParserTests
{
    private const string Id = "3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a";
    private const string Uid = "0b6ad24e-7a3c-4e35-9a7f-1f3c2d4e5f60";
    private const string UidUnderscores = "0b6ad24e_7a3c_4e35_9a7f_1f3c2d4e5f60";

    [Theory]
    // Docker, systemd driver (v2 and the hybrid name=systemd line) and cgroupfs driver.
    [InlineData("/system.slice/docker-" + Id + ".scope", Id, "docker", "")]
    [InlineData("/docker/" + Id, Id, "docker", "")]
    [InlineData("/system.slice/docker-" + Id + ".scope/init", Id, "docker", "")] // a sub-cgroup of the container
    // containerd in Kubernetes (systemd driver), every QoS class.
    [InlineData("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + UidUnderscores + ".slice/cri-containerd-" + Id + ".scope", Id, "containerd", Uid)]
    [InlineData("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + UidUnderscores + ".slice/cri-containerd-" + Id + ".scope", Id, "containerd", Uid)]
    [InlineData("/kubepods.slice/kubepods-pod" + UidUnderscores + ".slice/cri-containerd-" + Id + ".scope", Id, "containerd", Uid)] // guaranteed
    // kind nodes nest the kubelet's hierarchy one level deeper.
    [InlineData("/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod" + UidUnderscores + ".slice/cri-containerd-" + Id + ".scope", Id, "containerd", Uid)]
    // CRI-O (systemd driver); its conmon scope is no container.
    [InlineData("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + UidUnderscores + ".slice/crio-" + Id + ".scope", Id, "crio", Uid)]
    [InlineData("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + UidUnderscores + ".slice/crio-conmon-" + Id + ".scope", "", "", Uid)]
    // Kubernetes with the cgroupfs driver: the runtime is not in the path.
    [InlineData("/kubepods/burstable/pod" + Uid + "/" + Id, Id, "cgroupfs", Uid)]
    [InlineData("/kubepods/pod" + Uid + "/crio-" + Id, Id, "crio", Uid)]
    // Podman (rootful and rootless), its inner "container" cgroup, and its conmon scope.
    [InlineData("/machine.slice/libpod-" + Id + ".scope", Id, "podman", "")]
    [InlineData("/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" + Id + ".scope/container", Id, "podman", "")]
    [InlineData("/machine.slice/libpod-conmon-" + Id + ".scope", "", "", "")]
    // A pod slice without a container (the pod's own cgroup), and a static pod (32-hex uid).
    [InlineData("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + UidUnderscores + ".slice", "", "", Uid)]
    [InlineData("/kubepods.slice/kubepods-pod5e3a9c0d1f2b4a6c8e0f1a2b3c4d5e6f.slice/cri-containerd-" + Id + ".scope", Id, "containerd", "5e3a9c0d1f2b4a6c8e0f1a2b3c4d5e6f")]
    // Docker-in-Docker: the innermost container owns it.
    [InlineData("/docker/" + Id + "/docker/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "docker", "")]
    // A hybrid host's cgroup mount prefix changes nothing.
    [InlineData("/sys/fs/cgroup/unified/system.slice/docker-" + Id + ".scope", Id, "docker", "")]
    public void Names_the_container_runtime_and_pod(string path, string container, string runtime, string pod)
    {
        var owner = CgroupPathParser.Parse(path);
        var attribution = new AttributionInterner().From(path, owner);
        Assert.Equal((container, runtime, pod), (attribution.ContainerId, attribution.ContainerRuntime, attribution.PodUid));
    }

    [Theory]
    [InlineData("/")]
    [InlineData("")]
    [InlineData("/system.slice/sshd.service")]
    [InlineData("/user.slice/user-0.slice/session-3.scope")]
    [InlineData("/system.slice/docker.service")]
    [InlineData("/system.slice/docker-" + "3F2A1B0C9D8E7F6A5B4C3D2E1F0A9B8C7D6E5F4A3B2C1D0E9F8A7B6C5D4E3F2A" + ".scope")] // ids are lowercase
    [InlineData("/system.slice/docker-3f2a1b0c.scope")] // short
    [InlineData("/system.slice/containerd-" + Id + ".scope")] // not a runtime's container scope
    [InlineData("/kubepods.slice/kubepods-burstable.slice")]
    [InlineData("/kubepods.slice/kubepods-burstable-podnot_a_uid.slice")]
    [InlineData("/system.slice/pod" + Uid)] // "podUID" only counts under kubepods
    public void Other_cgroups_name_no_owner(string path)
    {
        var attribution = new AttributionInterner().From(path, CgroupPathParser.Parse(path));
        Assert.Same(RecordAttribution.None, attribution);
    }

    [Fact]
    public void Proc_cgroup_of_a_cgroup_v2_host_uses_the_unified_line()
    {
        var text = "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + UidUnderscores + ".slice/cri-containerd-" + Id + ".scope\n";
        var a = FromProcCgroup(text);
        Assert.Equal((Id, "containerd", Uid), (a.ContainerId, a.ContainerRuntime, a.PodUid));
    }

    [Fact]
    public void Proc_cgroup_of_a_hybrid_host_falls_back_to_v1_lines_when_v2_names_nothing()
    {
        // Docker with the cgroupfs driver on a hybrid host: the container is in the v1 hierarchies only.
        var text = $"12:pids:/docker/{Id}\n11:memory:/docker/{Id}\n1:name=systemd:/docker/{Id}\n0::/\n";
        var a = FromProcCgroup(text);
        Assert.Equal((Id, "docker", ""), (a.ContainerId, a.ContainerRuntime, a.PodUid));
    }

    [Fact]
    public void Proc_cgroup_prefers_a_container_line_over_a_pod_only_line()
    {
        var text = $"0::/kubepods.slice/kubepods-pod{UidUnderscores}.slice\n1:name=systemd:/kubepods.slice/kubepods-pod{UidUnderscores}.slice/crio-{Id}.scope\n";
        var a = FromProcCgroup(text);
        Assert.Equal((Id, "crio", Uid), (a.ContainerId, a.ContainerRuntime, a.PodUid));
    }

    [Theory]
    [InlineData("0::/\n")]
    [InlineData("9:name=systemd:/\n8:pids:/\n4:memory:/process_api/8fe38ee8ea725fe40f3096fb2069681d\n0::/\n")] // this machine's own
    [InlineData("")]
    [InlineData("garbage without colons\n::\n0:\n")]
    public void Proc_cgroup_of_a_host_process_names_no_owner(string text) => Assert.Same(RecordAttribution.None, FromProcCgroup(text));

    [Fact]
    public void Interner_shares_one_attribution_per_owner()
    {
        var interner = new AttributionInterner();
        var scope = "/system.slice/docker-" + Id + ".scope";
        var a = interner.From(scope, CgroupPathParser.Parse(scope));
        var b = interner.From(scope + "/init", CgroupPathParser.Parse(scope + "/init"));
        Assert.Same(a, b);
        Assert.Equal("docker"u8.ToArray(), a.ContainerRuntimeUtf8);
    }

    [Fact]
    public void Mountinfo_gives_the_cgroup2_mount_point()
    {
        const string hybrid = "25 30 0:22 / /sys/fs/cgroup ro,nosuid shared:9 - tmpfs tmpfs ro,mode=755\n" +
                              "26 25 0:23 / /sys/fs/cgroup/unified rw,nosuid shared:10 - cgroup2 cgroup2 rw,nsdelegate\n" +
                              "27 25 0:24 / /sys/fs/cgroup/systemd rw shared:11 - cgroup cgroup rw,name=systemd\n";
        const string v2 = "30 1 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw\n";
        const string elsewhere = "40 1 0:30 / /mnt/cg\\0402 rw - cgroup2 none rw\n";
        Assert.Equal("/sys/fs/cgroup/unified", CgroupRoot.FindIn(hybrid));
        Assert.Equal("/sys/fs/cgroup", CgroupRoot.FindIn(v2));
        Assert.Equal("/mnt/cg 2", CgroupRoot.FindIn(elsewhere));
        Assert.Null(CgroupRoot.FindIn("27 25 0:24 / /sys/fs/cgroup/systemd rw shared:11 - cgroup cgroup rw,name=systemd\n"));
        Assert.NotNull(CgroupRoot.Find()); // this machine mounts cgroup2 (hybrid: /sys/fs/cgroup/unified)
    }

    private static RecordAttribution FromProcCgroup(string text)
    {
        var owner = CgroupPathParser.ParseProcCgroup(text, out var path);
        return new AttributionInterner().From(text.AsSpan()[path], owner);
    }
}
