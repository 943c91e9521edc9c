using System.Diagnostics;

namespace XtcpEpoll.Bench.Harness.Collector;

/// <summary>Finds the published collector (`--collector PATH`) or publishes src/Host into artifacts/collector.</summary>
internal static class CollectorBinary
{
    public static string Resolve(string? explicitPath, string repoRoot)
    {
        if (explicitPath != null)
        {
            if (!File.Exists(explicitPath)) throw new ArgumentException($"--collector '{explicitPath}': file not found");
            return Path.GetFullPath(explicitPath);
        }
        return Publish(repoRoot, "collector");
    }

    /// <summary>`dotnet publish src/Host -c Release` (plus <paramref name="extra"/>) into artifacts/DIRECTORY; returns the executable.</summary>
    public static string Publish(string repoRoot, string directory, params string[] extra)
    {
        string outDir = Path.Combine(repoRoot, "artifacts", directory);
        Console.Error.WriteLine($"harness: publishing src/Host {string.Join(' ', extra)} into {outDir} (pass --collector/--collectors to skip)");
        var psi = new ProcessStartInfo("dotnet") { UseShellExecute = false };
        foreach (var a in new[] { "publish", Path.Combine(repoRoot, "src", "Host"), "-c", "Release", "-o", outDir, "-nologo", "-v", "q" }.Concat(extra))
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        p.WaitForExit();
        string bin = Path.Combine(outDir, "xtcp-epoll");
        if (p.ExitCode != 0 || !File.Exists(bin)) throw new InvalidOperationException($"dotnet publish src/Host {string.Join(' ', extra)} failed (exit {p.ExitCode})");
        return bin;
    }

    /// <summary>The repository root: walk up from the binary (or the working directory) to XtcpEpoll.sln.</summary>
    public static string RepoRoot()
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
        {
            for (var dir = new DirectoryInfo(start); dir != null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "XtcpEpoll.sln"))) return dir.FullName;
        }
        throw new InvalidOperationException("cannot find XtcpEpoll.sln above the harness binary or the working directory");
    }
}
