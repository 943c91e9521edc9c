namespace XtcpEpoll.Tests.Loop.Attribution;

/// <summary>
/// A kubelet log tree in a temporary directory, laid out as the kubelet lays out /var/log/pods and
/// /var/log/containers: a directory per pod (namespace_pod_uid), one per container under it with its
/// restart-numbered log, and a link per container (pod_namespace_container-id.log) pointing at that log.
/// Removed on Dispose.
/// </summary>
public sealed class TestLogTree : IDisposable
{
    public TestLogTree()
    {
        Root = Directory.CreateTempSubdirectory("xtcp-logtree-").FullName;
        PodLogs = Directory.CreateDirectory(Path.Combine(Root, "pods")).FullName;
        ContainerLogs = Directory.CreateDirectory(Path.Combine(Root, "containers")).FullName;
    }

    public string Root { get; }
    public string PodLogs { get; }
    public string ContainerLogs { get; }

    /// <summary>The pod's directory (as the kubelet makes it before the sandbox runs); returns its path.</summary>
    public string AddPod(string ns, string pod, string uid) =>
        Directory.CreateDirectory(Path.Combine(PodLogs, $"{ns}_{pod}_{uid}")).FullName;

    /// <summary>A container's log and its link (as the kubelet makes them after the container started); returns the link.</summary>
    public string AddContainer(string ns, string pod, string uid, string container, string id, int restart = 0)
    {
        var dir = Directory.CreateDirectory(Path.Combine(AddPod(ns, pod, uid), container)).FullName;
        var log = Path.Combine(dir, $"{restart}.log");
        File.WriteAllText(log, "");
        var name = $"{pod}_{ns}_{container}-{id}";
        if (name.Length > 255 - ".log".Length) name = name[..(255 - ".log".Length)]; // the kubelet's cut
        var link = Path.Combine(ContainerLogs, name + ".log");
        File.CreateSymbolicLink(link, log);
        return link;
    }

    /// <summary>The pod is deleted: its directory and its containers' links go.</summary>
    public void RemovePod(string ns, string pod, string uid)
    {
        Directory.Delete(Path.Combine(PodLogs, $"{ns}_{pod}_{uid}"), recursive: true);
        foreach (var link in Directory.GetFiles(ContainerLogs, $"{pod}_{ns}_*"))
            File.Delete(link);
    }

    public void Dispose()
    {
        try { Directory.Delete(Root, recursive: true); }
        catch (DirectoryNotFoundException) { }
    }
}
