namespace XtcpEpoll.Bench.Harness.Collector;

/// <summary>
/// The builds the binaries verb compares: `--collectors label=PATH,label=PATH` (published xtcp-epoll executables),
/// or by default both publishes of this checkout: jit (`-p:PublishAot=false`, framework-dependent, as shipped
/// before issue 20) into artifacts/collector-jit and aot (the default `dotnet publish`) into artifacts/collector-aot.
/// </summary>
internal static class CollectorBuilds
{
    public static List<(string Label, string Path)> Resolve(string? option, string repoRoot)
    {
        var builds = new List<(string, string)>();
        if (option != null)
        {
            foreach (var entry in option.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                var eq = entry.IndexOf('=');
                if (eq <= 0) throw new ArgumentException($"--collectors '{entry}': want label=PATH");
                var path = entry[(eq + 1)..];
                if (!File.Exists(path)) throw new ArgumentException($"--collectors {entry}: file not found");
                builds.Add((entry[..eq], System.IO.Path.GetFullPath(path)));
            }
            if (builds.Count == 0) throw new ArgumentException("--collectors names no build");
            return builds;
        }
        builds.Add(("jit", CollectorBinary.Publish(repoRoot, "collector-jit", "-p:PublishAot=false")));
        builds.Add(("aot", CollectorBinary.Publish(repoRoot, "collector-aot")));
        return builds;
    }

    /// <summary>
    /// What a deployment copies: every file of the publish directory except debug symbols (.dbg, .pdb) and other
    /// platforms' native assets (runtimes/RID/ of a portable JIT publish), so librdkafka's builds count. A JIT
    /// build needs the shared .NET runtime on top (not counted).
    /// </summary>
    public static (long Executable, long Shipped) Sizes(string executable)
    {
        var root = System.IO.Path.GetDirectoryName(executable)!;
        var ownRuntimes = System.IO.Path.Combine(root, "runtimes", System.Runtime.InteropServices.RuntimeInformation.RuntimeIdentifier) + "/";
        long shipped = 0;
        foreach (var file in new DirectoryInfo(root).EnumerateFiles("*", SearchOption.AllDirectories))
        {
            if (file.Extension is ".dbg" or ".pdb") continue;
            if (file.FullName.StartsWith(System.IO.Path.Combine(root, "runtimes") + "/", StringComparison.Ordinal)
                && !file.FullName.StartsWith(ownRuntimes, StringComparison.Ordinal)) continue;
            shipped += file.Length;
        }
        return (new FileInfo(executable).Length, shipped);
    }
}
