using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;

namespace XtcpEpoll.Tests.Host;

/// <summary>
/// podman (and the image build script) with the repo's containers.conf (tests/fixtures/containers.conf: runc,
/// cgroupfs, ulimits this machine allows), and the base image the test builds from Debian packages because no
/// image registry is reachable.
/// </summary>
internal static class Podman
{
    public static string ContainersConf => Path.Combine(TestPaths.RepoRoot, "tests", "fixtures", "containers.conf");

    /// <summary>Debian packages of the test base: what gcr.io/distroless/cc-debian12 holds that the daemon uses (no shell).</summary>
    public const string BasePackages = "libc6,libgcc-s1,libssl3";
    public const string BaseSuite = "bookworm";

    public static string Run(params string[] args) => Exec("podman", args, TimeSpan.FromMinutes(5));

    public static (int Code, string Stdout, string Stderr) TryRun(params string[] args) => TryExec("podman", args, TimeSpan.FromMinutes(5));

    public static string Exec(string file, string[] args, TimeSpan timeout, IReadOnlyDictionary<string, string>? env = null)
    {
        var (code, stdout, stderr) = TryExec(file, args, timeout, env);
        if (code != 0) throw new InvalidOperationException($"{file} {string.Join(' ', args)} exited {code}: {stderr.Trim()}");
        return stdout;
    }

    public static (int Code, string Stdout, string Stderr) TryExec(string file, string[] args, TimeSpan timeout, IReadOnlyDictionary<string, string>? env = null)
    {
        var psi = new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.Environment["CONTAINERS_CONF"] = ContainersConf;
        if (env != null) foreach (var (k, v) in env) psi.Environment[k] = v;
        using var process = Process.Start(psi)!;
        var stderrTask = process.StandardError.ReadToEndAsync();
        var stdoutTask = process.StandardOutput.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} ran longer than {timeout}");
        }
        process.WaitForExit();
        return (process.ExitCode, stdoutTask.Result, stderrTask.Result);
    }

    /// <summary>
    /// The base image, made once per content: mmdebstrap extracts <see cref="BasePackages"/> of <see cref="BaseSuite"/>
    /// (variant extract: no maintainer scripts, so no shell or dpkg ends up inside) and podman imports the tarball.
    /// Tagged with a hash of what goes into it; later runs find it and skip the build.
    /// </summary>
    public static string EnsureBase()
    {
        var key = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{BaseSuite}|extract|{BasePackages}")))[..16];
        var image = $"localhost/xtcp-epoll-test-base:{key}";
        if (TryRun("image", "exists", image).Code == 0) return image;
        var dir = Directory.CreateTempSubdirectory("xt-base-").FullName;
        try
        {
            var tar = Path.Combine(dir, "base.tar");
            Exec("mmdebstrap", ["--quiet", "--variant=extract", $"--include={BasePackages}", BaseSuite, tar], TimeSpan.FromMinutes(5));
            Run("import", "--quiet", tar, image);
            return image;
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
