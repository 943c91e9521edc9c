using System.Text;

namespace XtcpEpoll.Sinks.Records;

/// <summary>
/// Which container and Kubernetes pod own a socket (proto fields container_id = 40, container_runtime = 41,
/// pod_uid = 3004). One immutable object per distinct (container, runtime, pod), shared by every record of
/// that container's sockets and namespaces: the strings are encoded to UTF-8 once, here, so encoders copy
/// bytes and no record allocates. <see cref="None"/> is the empty attribution (the proto defaults).
/// </summary>
public sealed class RecordAttribution
{
    /// <summary>Container ids are 64 lowercase hex digits (Docker, containerd, CRI-O, Podman).</summary>
    public const int MaxContainerIdLength = 64;
    /// <summary>Runtime names are short constants (docker, containerd, crio, podman, cgroupfs).</summary>
    public const int MaxRuntimeLength = 16;
    /// <summary>A pod uid is a 36-character UUID (or a 32-hex static-pod hash).</summary>
    public const int MaxPodUidLength = 36;

    /// <summary>
    /// Worst case the three fields add to an encoded record: per field up to 3 tag bytes (field 3004) and 1
    /// length byte (every value is shorter than 128 bytes), plus the values.
    /// </summary>
    public const int MaxEncodedBytes = 3 * (3 + 1) + MaxContainerIdLength + MaxRuntimeLength + MaxPodUidLength;

    public static readonly RecordAttribution None = new("", "", "");

    private RecordAttribution(string containerId, string runtime, string podUid)
    {
        ContainerId = containerId;
        ContainerRuntime = runtime;
        PodUid = podUid;
        ContainerIdUtf8 = Encoding.UTF8.GetBytes(containerId);
        ContainerRuntimeUtf8 = Encoding.UTF8.GetBytes(runtime);
        PodUidUtf8 = Encoding.UTF8.GetBytes(podUid);
    }

    /// <summary>
    /// An attribution; all empty gives <see cref="None"/>. Values longer than the Max* lengths are refused
    /// (ArgumentException): the encoders' size bound relies on them, and the parsers never produce them.
    /// </summary>
    public static RecordAttribution Create(string containerId, string runtime, string podUid)
    {
        if (containerId.Length == 0 && runtime.Length == 0 && podUid.Length == 0) return None;
        if (containerId.Length > MaxContainerIdLength || runtime.Length > MaxRuntimeLength || podUid.Length > MaxPodUidLength
            || !Ascii.IsValid(containerId) || !Ascii.IsValid(runtime) || !Ascii.IsValid(podUid))
            throw new ArgumentException($"attribution out of bounds: container '{containerId}', runtime '{runtime}', pod '{podUid}'");
        return new RecordAttribution(containerId, runtime, podUid);
    }

    public string ContainerId { get; }
    public string ContainerRuntime { get; }
    public string PodUid { get; }
    public byte[] ContainerIdUtf8 { get; }
    public byte[] ContainerRuntimeUtf8 { get; }
    public byte[] PodUidUtf8 { get; }

    /// <summary>Neither a container nor a pod.</summary>
    public bool IsNone => ReferenceEquals(this, None);

    public override string ToString() => IsNone ? "(none)" : $"{ContainerRuntime}:{ContainerId} pod {PodUid}";
}
