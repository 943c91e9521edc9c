using System.Text.Json;
using System.Text.RegularExpressions;
using Xunit;
using static XtcpEpoll.Tests.Host.KubernetesManifest;

namespace XtcpEpoll.Tests.Host;

/// <summary>
/// deploy/kubernetes checked against the Kubernetes API schema, and against what the daemon needs. No cluster
/// or schema registry is reachable from CI, so the schema is a vendored subset of the v1.30 API
/// (tests/fixtures/kubernetes/api-subset-v1.30.json: the object types these manifests use, with their fields,
/// types, enums and required fields); an unknown field is an error, as with kubectl --validate=strict.
/// </summary>
public sealed partial class KubernetesManifestTests
{
    private static readonly JsonElement Schema = JsonDocument.Parse(File.ReadAllText(
        Path.Combine(TestPaths.RepoRoot, "tests", "fixtures", "kubernetes", "api-subset-v1.30.json"))).RootElement;

    [Fact]
    public void Every_object_matches_the_API_schema()
    {
        var errors = new List<string>();
        var objects = Load();
        Assert.Equal(["Namespace", "ServiceAccount", "ConfigMap", "DaemonSet"], objects.Select(o => Text(o.Object["kind"])));
        foreach (var (file, obj) in objects)
        {
            var root = $"{Text(obj["apiVersion"])}/{Text(obj["kind"])}";
            Assert.True(Schema.GetProperty("roots").TryGetProperty(root, out var type), $"{file}: {root} is not a type the schema subset covers");
            Check(obj, type.GetString()!, $"{file}:", errors);
            Assert.Matches(DnsLabel(), Text(Map(obj, "metadata")["name"]));
        }
        Assert.True(errors.Count == 0, string.Join("\n", errors));
    }

    [Fact]
    public void The_schema_check_catches_what_the_API_server_refuses()
    {
        var errors = new List<string>();
        var bad = new Dictionary<string, object>
        {
            ["name"] = S("x"), ["image"] = S("i"), ["imagePullPolicy"] = S("Sometimes"), ["readOnly"] = S("true"),
            ["ports"] = new List<object> { new Dictionary<string, object> { ["containerPort"] = S("9088", quoted: true) } },
            ["securityContext"] = new Dictionary<string, object> { ["runAsUser"] = S("root") },
        };
        Check(bad, "Container", "c:", errors);
        Assert.Contains(errors, e => e.Contains("imagePullPolicy") && e.Contains("Sometimes"));
        Assert.Contains(errors, e => e.Contains("readOnly") && e.Contains("unknown field"));
        Assert.Contains(errors, e => e.Contains("containerPort") && e.Contains("integer"));
        Assert.Contains(errors, e => e.Contains("runAsUser"));
        errors.Clear();
        Check(new Dictionary<string, object> { ["name"] = S("x") }, "Container", "c:", errors);
        Assert.Contains(errors, e => e.Contains("image") && e.Contains("required"));
    }

    [Fact]
    public void The_DaemonSet_gives_the_daemon_what_it_needs_and_nothing_more()
    {
        var ds = Single("DaemonSet");
        var pod = Map(ds, "spec.template.spec");
        var container = (Dictionary<string, object>)List(pod, "containers").Single();
        Assert.Equal("true", TextAt(pod, "hostNetwork"));
        Assert.Equal("true", TextAt(pod, "hostPID"));
        Assert.Equal("false", TextAt(pod, "automountServiceAccountToken"));
        Assert.Equal("false", TextAt(Single("ServiceAccount"), "automountServiceAccountToken"));
        Assert.Equal(TextAt(Single("ServiceAccount"), "metadata.name"), TextAt(pod, "serviceAccountName"));
        Assert.Contains(List(pod, "tolerations"), t => TextAt(t, "operator") == "Exists" && TextAt(t, "key") == null); // every taint
        // The selector picks the template's own pods.
        foreach (var (key, value) in Map(ds, "spec.selector.matchLabels"))
            Assert.Equal(Text(value), Text(Map(ds, "spec.template.metadata.labels")[key]));

        var security = Map(container, "securityContext");
        Assert.Equal("true", TextAt(security, "readOnlyRootFilesystem"));
        Assert.Equal("false", TextAt(security, "allowPrivilegeEscalation"));
        Assert.Equal(["ALL"], List(security, "capabilities.drop").Select(Text));
        // Each added capability: what needs it (README "Kubernetes" and the Privileges section say why).
        Assert.Equal(["SYS_ADMIN", "NET_ADMIN", "SYS_PTRACE"], List(security, "capabilities.add").Select(Text));

        var volumes = List(pod, "volumes").Cast<Dictionary<string, object>>().ToDictionary(v => Text(v["name"]), v => TextAt(v, "hostPath.path"));
        var mounts = List(container, "volumeMounts").Cast<Dictionary<string, object>>().ToList();
        Assert.All(mounts, m => Assert.Equal("true", TextAt(m, "readOnly")));
        Assert.All(mounts, m => Assert.True(volumes.ContainsKey(Text(m["name"])), $"mount {Text(m["name"])} has no volume"));
        var byHostPath = mounts.ToDictionary(m => volumes[Text(m["name"])]!, m => m);
        Assert.Equal(["/run/netns", "/var/run/docker/netns", "/sys/fs/cgroup", "/var/log/pods", "/var/log/containers"], byHostPath.Keys);
        Assert.Equal("HostToContainer", TextAt(byHostPath["/run/netns"], "mountPropagation"));
        // Mounted where the daemon looks by default: --netns-dirs (ConfigMap), --pod-logs-dir, --container-logs-dir.
        Assert.Equal(string.Join(',', TextAt(Single("ConfigMap"), "data.XTCP_NETNS_DIRS")!.Split(',')),
            $"{TextAt(byHostPath["/run/netns"], "mountPath")},{TextAt(byHostPath["/var/run/docker/netns"], "mountPath")}");
        var defaults = new XtcpEpoll.Loop.CollectorOptions();
        Assert.Equal(defaults.PodLogsDir, TextAt(byHostPath["/var/log/pods"], "mountPath"));
        Assert.Equal(defaults.ContainerLogsDir, TextAt(byHostPath["/var/log/containers"], "mountPath"));
    }

    [Fact]
    public void Probes_and_scraping_reach_the_metrics_listener_on_the_node_address()
    {
        var ds = Single("DaemonSet");
        var container = (Dictionary<string, object>)List(Map(ds, "spec.template.spec"), "containers").Single();
        var env = List(container, "env").Cast<Dictionary<string, object>>().ToDictionary(e => Text(e["name"]), e => e);
        Assert.Equal("status.hostIP", TextAt(env["NODE_IP"], "valueFrom.fieldRef.fieldPath"));
        var listen = TextAt(env["XTCP_METRICS_LISTEN"], "value")!;
        Assert.StartsWith("$(NODE_IP):", listen); // the kubelet probes the pod IP, which with hostNetwork is the node's
        var port = listen["$(NODE_IP):".Length..];
        var metricsPort = List(container, "ports").Cast<Dictionary<string, object>>().Single(p => TextAt(p, "name") == "metrics");
        Assert.Equal(port, TextAt(metricsPort, "containerPort"));
        Assert.Equal("metrics", TextAt(container, "readinessProbe.httpGet.port"));
        Assert.Equal("/readyz", TextAt(container, "readinessProbe.httpGet.path"));
        Assert.Equal("/healthz", TextAt(container, "livenessProbe.httpGet.path"));
        var annotations = Map(ds, "spec.template.metadata.annotations");
        Assert.Equal("true", Text(annotations["prometheus.io/scrape"]));
        Assert.Equal(port, Text(annotations["prometheus.io/port"]));
        // Every ConfigMap key names an option of the daemon.
        var variables = XtcpEpoll.Host.Cli.OptionCatalog.Collect.Select(o => "XTCP_" + o.Name.ToUpperInvariant().Replace('-', '_')).ToHashSet();
        foreach (var key in Map(Single("ConfigMap"), "data").Keys) Assert.Contains(key, variables);
        foreach (var key in env.Keys.Where(k => k.StartsWith("XTCP_", StringComparison.Ordinal))) Assert.Contains(key, variables);
    }

    private static Scalar S(string text, bool quoted = false) => new(text, quoted);

    private static void Check(object value, string type, string path, List<string> errors)
    {
        if (type.StartsWith('['))
        {
            if (value is not List<object> list) { errors.Add($"{path} must be a list"); return; }
            for (int i = 0; i < list.Count; i++) Check(list[i], type[1..^1], $"{path}[{i}]", errors);
            return;
        }
        if (type.StartsWith("map<", StringComparison.Ordinal))
        {
            if (value is not Dictionary<string, object> map) { errors.Add($"{path} must be a mapping"); return; }
            foreach (var (key, item) in map) Check(item, type[4..^1], $"{path}.{key}", errors);
            return;
        }
        if (type.StartsWith("enum:", StringComparison.Ordinal))
        {
            var allowed = type[5..].Split('|');
            if (value is not Scalar e || !allowed.Contains(e.Text)) errors.Add($"{path} = {value}: must be one of {string.Join(", ", allowed)}");
            return;
        }
        switch (type)
        {
            case "string":
                if (value is not Scalar s || (!s.Quoted && (IsInteger(s.Text) || s.Text is "true" or "false" or "null" or "~")))
                    errors.Add($"{path} = {value}: must be a string (quote it)");
                return;
            case "integer":
                if (value is not Scalar n || n.Quoted || !IsInteger(n.Text)) errors.Add($"{path} = {value}: must be an integer");
                return;
            case "boolean":
                if (value is not Scalar b || b.Quoted || b.Text is not ("true" or "false")) errors.Add($"{path} = {value}: must be a boolean");
                return;
            case "intOrString":
                if (value is not Scalar) errors.Add($"{path}: must be an integer or a string");
                return;
            case "quantity":
                if (value is not Scalar q || !Quantity().IsMatch(q.Text)) errors.Add($"{path} = {value}: must be a quantity (100m, 64Mi)");
                return;
        }
        if (!Schema.GetProperty("types").TryGetProperty(type, out var fields)) { errors.Add($"{path}: type {type} missing from the schema subset"); return; }
        if (value is not Dictionary<string, object> obj) { errors.Add($"{path} must be a mapping ({type})"); return; }
        foreach (var (key, item) in obj)
        {
            if (!fields.TryGetProperty(key, out var fieldType)) errors.Add($"{path}.{key}: unknown field of {type}");
            else Check(item, fieldType.GetString()!, $"{path}.{key}", errors);
        }
        if (Schema.GetProperty("required").TryGetProperty(type, out var required))
            foreach (var name in required.EnumerateArray())
                if (!obj.ContainsKey(name.GetString()!)) errors.Add($"{path}.{name.GetString()}: required field of {type} missing");
    }

    private static bool IsInteger(string text) => text.Length > 0 && long.TryParse(text, out _);

    [GeneratedRegex(@"^[+-]?[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$")]
    private static partial Regex Quantity();

    [GeneratedRegex(@"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")]
    private static partial Regex DnsLabel();
}
