using YamlDotNet.RepresentationModel;

namespace XtcpEpoll.Tests.Host;

/// <summary>
/// The objects of deploy/kubernetes/*.yaml as plain trees: mappings become Dictionary&lt;string, object&gt;,
/// sequences List&lt;object&gt;, scalars their text with the YAML tag's meaning kept apart (<see cref="Scalar"/>:
/// a quoted "9088" is a string, a plain 9088 an integer), so a schema check can tell them apart.
/// </summary>
public static class KubernetesManifest
{
    /// <summary>A scalar as written: its text and whether it was quoted (quoted scalars are always strings).</summary>
    public sealed record Scalar(string Text, bool Quoted)
    {
        public override string ToString() => Text;
    }

    public static string ManifestDirectory => Path.Combine(TestPaths.RepoRoot, "deploy", "kubernetes");

    /// <summary>Every document of every manifest file, in file order (the order `kubectl apply -f DIR` uses).</summary>
    public static List<(string File, Dictionary<string, object> Object)> Load()
    {
        var objects = new List<(string, Dictionary<string, object>)>();
        foreach (var file in System.IO.Directory.GetFiles(ManifestDirectory, "*.yaml").Order(StringComparer.Ordinal))
        {
            var stream = new YamlStream();
            using (var reader = new StreamReader(file)) stream.Load(reader);
            foreach (var document in stream.Documents)
                objects.Add((Path.GetFileName(file), (Dictionary<string, object>)Convert(document.RootNode)));
        }
        return objects;
    }

    /// <summary>The one object of this kind.</summary>
    public static Dictionary<string, object> Single(string kind) =>
        Load().Single(o => Text(o.Object["kind"]) == kind).Object;

    private static object Convert(YamlNode node) => node switch
    {
        YamlMappingNode map => map.Children.ToDictionary(c => ((YamlScalarNode)c.Key).Value!, c => Convert(c.Value)),
        YamlSequenceNode seq => seq.Children.Select(Convert).ToList(),
        YamlScalarNode scalar => new Scalar(scalar.Value ?? "", scalar.Style is YamlDotNet.Core.ScalarStyle.SingleQuoted or YamlDotNet.Core.ScalarStyle.DoubleQuoted),
        _ => throw new InvalidDataException($"unexpected YAML node {node.NodeType}"),
    };

    /// <summary>The value at a dotted path of mapping keys ("spec.template.spec"), or null.</summary>
    public static object? At(object root, string path)
    {
        object? current = root;
        foreach (var key in path.Split('.'))
            current = current is Dictionary<string, object> map && map.TryGetValue(key, out var next) ? next : null;
        return current;
    }

    public static Dictionary<string, object> Map(object root, string path) =>
        (Dictionary<string, object>)(At(root, path) ?? throw new KeyNotFoundException(path));

    public static List<object> List(object root, string path) => At(root, path) as List<object> ?? [];

    public static string Text(object? value) => value is Scalar s ? s.Text : throw new InvalidDataException($"not a scalar: {value}");

    public static string? TextAt(object root, string path) => At(root, path) is Scalar s ? s.Text : null;
}
