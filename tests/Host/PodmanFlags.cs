using static XtcpEpoll.Tests.Host.KubernetesManifest;

namespace XtcpEpoll.Tests.Host;

/// <summary>
/// `podman run` arguments that give a container what the DaemonSet's pod template gives its pod (podman 4.3's
/// `kube play` ignores hostPID, so the test runs the image this way). Every setting of the template the
/// daemon's behaviour depends on is translated, and an unknown one fails the test, so the manifest cannot gain
/// a setting this run does not honour. Host paths can be redirected to a test's fake node.
/// </summary>
public static class PodmanFlags
{
    /// <param name="hostPaths">hostPath → the directory standing in for it on this machine.</param>
    /// <param name="fieldRefs">Downward-API fields (status.hostIP, spec.nodeName) → their value here.</param>
    /// <returns>The arguments, and the environment the manifest gives the container (before <paramref name="envOverrides"/>).</returns>
    public static (List<string> Args, Dictionary<string, string> ManifestEnvironment) For(Dictionary<string, object> daemonSet, Dictionary<string, object> configMap,
        IReadOnlyDictionary<string, string> hostPaths, IReadOnlyDictionary<string, string> fieldRefs,
        IReadOnlyDictionary<string, string>? envOverrides = null)
    {
        var pod = Map(daemonSet, "spec.template.spec");
        var container = (Dictionary<string, object>)Assert1(List(pod, "containers"));
        var security = Map(container, "securityContext");
        OnlyKnown("pod", pod, PodKeys);
        OnlyKnown("container", container, ContainerKeys);
        OnlyKnown("securityContext", security, SecurityKeys);
        var args = new List<string>();
        if (TextAt(pod, "hostNetwork") == "true") args.Add("--network=host");
        if (TextAt(pod, "hostPID") == "true") args.Add("--pid=host");

        if (TextAt(security, "runAsUser") is { } user) args.Add($"--user={user}");
        if (TextAt(security, "readOnlyRootFilesystem") == "true") args.Add("--read-only");
        if (TextAt(security, "allowPrivilegeEscalation") == "false") args.Add("--security-opt=no-new-privileges");
        if (TextAt(security, "privileged") == "true") args.Add("--privileged");
        foreach (var cap in List(security, "capabilities.drop")) args.Add($"--cap-drop={Text(cap)}");
        foreach (var cap in List(security, "capabilities.add")) args.Add($"--cap-add={Text(cap)}");
        if (TextAt(container, "resources.limits.memory") is { } memory) args.Add($"--memory={ToPodmanSize(memory)}");

        var volumes = List(pod, "volumes").Cast<Dictionary<string, object>>().ToDictionary(v => Text(v["name"]), v => TextAt(v, "hostPath.path")!);
        foreach (Dictionary<string, object> mount in List(container, "volumeMounts"))
        {
            var hostPath = volumes[Text(mount["name"])];
            var source = hostPaths.TryGetValue(hostPath, out var redirected) ? redirected : hostPath;
            var options = new List<string> { TextAt(mount, "readOnly") == "true" ? "ro" : "rw" };
            // HostToContainer = rslave: mounts made on the node later (new namespaces) show inside.
            if (TextAt(mount, "mountPropagation") is { } propagation)
                options.Add(propagation switch { "HostToContainer" => "rslave", "Bidirectional" => "rshared", _ => "rprivate" });
            args.Add($"--volume={source}:{Text(mount["mountPath"])}:{string.Join(',', options)}");
        }

        var env = new Dictionary<string, string>();
        foreach (var (name, value) in Map(configMap, "data")) env[name] = Text(value);
        foreach (Dictionary<string, object> variable in List(container, "env"))
        {
            var name = Text(variable["name"]);
            if (TextAt(variable, "valueFrom.fieldRef.fieldPath") is { } field) env[name] = fieldRefs[field];
            else env[name] = ExpandReferences(Text(variable["value"]), env); // $(VAR) as the kubelet expands it
        }
        var manifestEnvironment = new Dictionary<string, string>(env);
        if (envOverrides != null) foreach (var (name, value) in envOverrides) env[name] = value;
        foreach (var (name, value) in env) args.Add($"--env={name}={value}");
        return (args, manifestEnvironment);
    }

    // Translated below, or meaningless for one container on one machine (scheduling, the API's own objects,
    // probes the test makes itself, the image the test names, ports that hostNetwork exposes as they are).
    private static readonly HashSet<string> PodKeys = ["hostNetwork", "hostPID", "containers", "volumes", "serviceAccountName",
        "automountServiceAccountToken", "dnsPolicy", "priorityClassName", "terminationGracePeriodSeconds", "tolerations"];
    private static readonly HashSet<string> ContainerKeys = ["name", "image", "imagePullPolicy", "envFrom", "env", "ports",
        "readinessProbe", "livenessProbe", "resources", "securityContext", "volumeMounts"];
    // runAsNonRoot false and seccompProfile RuntimeDefault are podman's defaults.
    private static readonly HashSet<string> SecurityKeys = ["runAsUser", "runAsNonRoot", "privileged", "allowPrivilegeEscalation",
        "readOnlyRootFilesystem", "capabilities", "seccompProfile"];

    private static void OnlyKnown(string what, Dictionary<string, object> map, HashSet<string> known)
    {
        foreach (var key in map.Keys)
            if (!known.Contains(key)) throw new InvalidDataException($"{what}.{key} of the DaemonSet has no podman translation here: add one");
    }

    private static object Assert1(List<object> list) =>
        list.Count == 1 ? list[0] : throw new InvalidDataException($"the pod template has {list.Count} containers; the test runs one");

    private static string ExpandReferences(string value, Dictionary<string, string> env)
    {
        foreach (var (name, known) in env) value = value.Replace($"$({name})", known, StringComparison.Ordinal);
        return value;
    }

    /// <summary>Kubernetes quantities (150Mi) in podman's units (150m = MiB).</summary>
    private static string ToPodmanSize(string quantity) =>
        quantity.EndsWith("Mi", StringComparison.Ordinal) ? quantity[..^2] + "m"
        : quantity.EndsWith("Gi", StringComparison.Ordinal) ? quantity[..^2] + "g"
        : throw new InvalidDataException($"memory limit {quantity}: only Mi and Gi are translated");
}
