using System.Diagnostics;
using System.Text.Json;

namespace XtcpEpoll.Tests.Consumers;

/// <summary>
/// An embedded ClickHouse: the npm package chdb (the engine as a native library) driven by Node through
/// tests/Consumers/chdb-run.cjs. The package (~550 MB, ~20 s to install) is installed once into a cache
/// outside the clone, so a CI run in a fresh clone reuses it: $XTCP_TEST_CACHE, else
/// $XDG_CACHE_HOME/xtcp-epoll, else ~/.cache/xtcp-epoll. The install goes to a temporary directory that is
/// renamed into place, so an interrupted or concurrent install never leaves a half package behind.
/// </summary>
public sealed class ChdbEngine
{
    /// <summary>chdb 3.4.0 embeds ClickHouse 26.7 (ProtobufList reads one Envelope per file or message).</summary>
    public const string PackageVersion = "3.4.0";

    private static readonly object InstallLock = new();
    private static ChdbEngine? _instance;

    private ChdbEngine(string module, TimeSpan? installTime)
    {
        ModuleDirectory = module;
        InstallTime = installTime;
    }

    /// <summary>Directory of the chdb package (CHDB_MODULE of chdb-run.cjs).</summary>
    public string ModuleDirectory { get; }

    /// <summary>How long this process's install took; null when the cache already had it.</summary>
    public TimeSpan? InstallTime { get; }

    public static string CacheRoot
    {
        get
        {
            var explicitRoot = Environment.GetEnvironmentVariable("XTCP_TEST_CACHE");
            if (!string.IsNullOrEmpty(explicitRoot)) return explicitRoot;
            var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
            if (!string.IsNullOrEmpty(xdg)) return Path.Combine(xdg, "xtcp-epoll");
            var home = Environment.GetEnvironmentVariable("HOME");
            return Path.Combine(string.IsNullOrEmpty(home) ? "/root" : home, ".cache", "xtcp-epoll");
        }
    }

    /// <summary>The cached engine, installing it first if needed (fails with what to install when Node is missing).</summary>
    public static ChdbEngine Ensure()
    {
        lock (InstallLock)
        {
            if (_instance != null) return _instance;
            if (ToolProcess.Which("node") == null || ToolProcess.Which("npm") == null)
                throw new InvalidOperationException("the ClickHouse test needs Node.js 20+ with npm on PATH (apt-get install nodejs npm)");
            var prefix = Path.Combine(CacheRoot, "chdb-" + PackageVersion);
            var module = Path.Combine(prefix, "node_modules", "chdb");
            TimeSpan? installTime = null;
            if (!File.Exists(Path.Combine(module, "package.json")))
            {
                Directory.CreateDirectory(CacheRoot);
                var staging = Path.Combine(CacheRoot, $".chdb-{PackageVersion}-{Environment.ProcessId}-{Guid.NewGuid():N}");
                var watch = Stopwatch.StartNew();
                try
                {
                    var npm = ToolProcess.Run("npm", ["install", "--prefix", staging, "--no-audit", "--no-fund", "--no-save", "--loglevel=error", "chdb@" + PackageVersion],
                        TimeSpan.FromMinutes(8));
                    if (npm.ExitCode != 0)
                        throw new InvalidOperationException($"npm install chdb@{PackageVersion} failed ({npm.ExitCode}): {npm.Stderr.Trim()}");
                    try
                    {
                        Directory.Move(staging, prefix);
                    }
                    catch (IOException) when (File.Exists(Path.Combine(module, "package.json")))
                    {
                        // Another run installed it meanwhile: use theirs.
                    }
                }
                finally
                {
                    if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
                }
                installTime = watch.Elapsed;
            }
            return _instance = new ChdbEngine(module, installTime);
        }
    }

    public sealed record Step(string Name, string Sql);

    public sealed record StepResult(string Name, JsonElement[] Rows, string? Error);

    /// <summary>
    /// Runs the steps in order in one session (a fresh database directory, deleted afterwards); stops at the
    /// first failing step. Returns one result per step that ran.
    /// </summary>
    public IReadOnlyList<StepResult> Run(IReadOnlyList<Step> steps, out TimeSpan elapsed)
    {
        var work = Directory.CreateTempSubdirectory("xt-chdb-");
        try
        {
            var planPath = Path.Combine(work.FullName, "plan.json");
            var plan = new { session = Path.Combine(work.FullName, "session"), steps = steps.Select(s => new { name = s.Name, sql = s.Sql }) };
            File.WriteAllText(planPath, JsonSerializer.Serialize(plan));
            var script = Path.Combine(TestPaths.RepoRoot, "tests", "Consumers", "chdb-run.cjs");
            var run = ToolProcess.Run("node", [script, planPath], TimeSpan.FromMinutes(5),
                new Dictionary<string, string> { ["CHDB_MODULE"] = ModuleDirectory });
            elapsed = run.Elapsed;
            var results = new List<StepResult>();
            foreach (var line in run.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                using var doc = JsonDocument.Parse(line);
                var root = doc.RootElement;
                var rows = root.TryGetProperty("rows", out var r) ? r.EnumerateArray().Select(e => e.Clone()).ToArray() : [];
                results.Add(new StepResult(root.GetProperty("name").GetString()!, rows, root.TryGetProperty("error", out var e) ? e.GetString() : null));
            }
            if (run.ExitCode != 0 && results.All(x => x.Error == null))
                throw new InvalidOperationException($"chdb-run.cjs exited {run.ExitCode}: {run.Stderr.Trim()}");
            return results;
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }
}
