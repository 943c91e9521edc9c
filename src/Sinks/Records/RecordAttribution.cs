using System.Text;

namespace XtcpEpoll.Sinks.Records;

/// <summary>
/// Which container and Kubernetes pod own a socket (proto fields container_id = 40, container_runtime = 41,
/// container_name = 42, pod_uid = 3004, pod_name = 3005, pod_namespace = 3006). One immutable object per
/// distinct value, shared by every record of that container's sockets and namespaces: the strings are encoded
/// to UTF-8 once, here, so encoders copy bytes and no record allocates. <see cref="None"/> is the empty
/// attribution (the proto defaults).
/// <para>
/// The names come later than the ids (the kubelet writes a container's log link after the container started,
/// while its cgroup is found at once), so an attribution can be <see cref="Supersede"/>d once by the same ids
/// with more names. Holders (the cgroup snapshot, a namespace's entry) keep the first object; whoever stamps a
/// record reads <see cref="Latest"/>, so a record is stamped with one immutable object and its encoders'
/// sizing and writing passes see the same bytes.
/// </para>
/// </summary>
public sealed class RecordAttribution
{
    /// <summary>Container ids are 64 lowercase hex digits (Docker, containerd, CRI-O, Podman).</summary>
    public const int MaxContainerIdLength = 64;
    /// <summary>Runtime names are short constants (docker, containerd, crio, podman, cgroupfs).</summary>
    public const int MaxRuntimeLength = 16;
    /// <summary>A pod uid is a 36-character UUID (or a 32-hex static-pod hash).</summary>
    public const int MaxPodUidLength = 36;
    /// <summary>Kubernetes container names and namespaces are DNS labels (RFC 1123): at most 63 characters.</summary>
    public const int MaxLabelNameLength = 63;
    /// <summary>A pod name is a DNS subdomain (RFC 1123): at most 253 characters.</summary>
    public const int MaxPodNameLength = 253;

    /// <summary>
    /// Worst case the six fields add to an encoded record: per field its tag (2 bytes for 40-42, 3 for 3004-3006)
    /// and length (1 byte below 128, 2 for a pod name), plus the values.
    /// </summary>
    public const int MaxEncodedBytes = 3 * (2 + 1) + 3 * 3 + 2 * 1 + 2
        + MaxContainerIdLength + MaxRuntimeLength + MaxPodUidLength + 2 * MaxLabelNameLength + MaxPodNameLength;

    public static readonly RecordAttribution None = new("", "", "", "", "", "");

    private RecordAttribution? _successor;

    private RecordAttribution(string containerId, string runtime, string podUid, string containerName, string podName, string podNamespace)
    {
        ContainerId = containerId;
        ContainerRuntime = runtime;
        PodUid = podUid;
        ContainerName = containerName;
        PodName = podName;
        PodNamespace = podNamespace;
        ContainerIdUtf8 = Encoding.UTF8.GetBytes(containerId);
        ContainerRuntimeUtf8 = Encoding.UTF8.GetBytes(runtime);
        PodUidUtf8 = Encoding.UTF8.GetBytes(podUid);
        ContainerNameUtf8 = Encoding.UTF8.GetBytes(containerName);
        PodNameUtf8 = Encoding.UTF8.GetBytes(podName);
        PodNamespaceUtf8 = Encoding.UTF8.GetBytes(podNamespace);
    }

    /// <summary>
    /// An attribution; all empty gives <see cref="None"/>. Values longer than the Max* lengths, or not ASCII, are
    /// refused (ArgumentException): the encoders' size bound relies on them, and the parsers never produce them.
    /// </summary>
    public static RecordAttribution Create(string containerId, string runtime, string podUid,
        string containerName = "", string podName = "", string podNamespace = "")
    {
        if (containerId.Length == 0 && runtime.Length == 0 && podUid.Length == 0
            && containerName.Length == 0 && podName.Length == 0 && podNamespace.Length == 0) return None;
        if (!Fits(containerId, MaxContainerIdLength) || !Fits(runtime, MaxRuntimeLength) || !Fits(podUid, MaxPodUidLength)
            || !Fits(containerName, MaxLabelNameLength) || !Fits(podName, MaxPodNameLength) || !Fits(podNamespace, MaxLabelNameLength))
            throw new ArgumentException($"attribution out of bounds: container '{containerId}', runtime '{runtime}', pod '{podUid}', names '{podNamespace}/{podName}/{containerName}'");
        return new RecordAttribution(containerId, runtime, podUid, containerName, podName, podNamespace);
    }

    private static bool Fits(string value, int max) => value.Length <= max && Ascii.IsValid(value);

    public string ContainerId { get; }
    public string ContainerRuntime { get; }
    public string PodUid { get; }
    public string ContainerName { get; }
    public string PodName { get; }
    public string PodNamespace { get; }
    public byte[] ContainerIdUtf8 { get; }
    public byte[] ContainerRuntimeUtf8 { get; }
    public byte[] PodUidUtf8 { get; }
    public byte[] ContainerNameUtf8 { get; }
    public byte[] PodNameUtf8 { get; }
    public byte[] PodNamespaceUtf8 { get; }

    /// <summary>Neither a container nor a pod.</summary>
    public bool IsNone => ReferenceEquals(this, None);

    /// <summary>This attribution, or the one with more names that replaced it (lock-free; no allocation).</summary>
    public RecordAttribution Latest
    {
        get
        {
            var current = this;
            for (var next = Volatile.Read(ref current._successor); next != null; next = Volatile.Read(ref current._successor))
                current = next;
            return current;
        }
    }

    /// <summary>
    /// From now on <see cref="Latest"/> answers <paramref name="successor"/> (the same ids with more names). Called
    /// by one thread (the attribution thread); readers on other threads see either object, both complete.
    /// </summary>
    public void Supersede(RecordAttribution successor)
    {
        if (IsNone || ReferenceEquals(successor, this)) throw new InvalidOperationException("None and an attribution itself cannot be superseded");
        Volatile.Write(ref Latest._successor, successor);
    }

    public override string ToString() => IsNone ? "(none)"
        : $"{ContainerRuntime}:{ContainerId} pod {PodUid}" + (PodName.Length == 0 ? "" : $" {PodNamespace}/{PodName}/{ContainerName}");
}
