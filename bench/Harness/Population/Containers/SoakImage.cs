using System.Security.Cryptography;
using System.Text;

namespace XtcpEpoll.Bench.Harness.Population.Containers;

/// <summary>
/// The image the soak's containers run: the project's own image (deploy/container/build.sh, the published
/// collector inside) on a test-only base that adds busybox-static to the shipped base's Debian packages, so a
/// container has a shell, nc and a listener to run. The shipped image stays shell-less. The base is made
/// offline from Debian packages (mmdebstrap, `podman import`) once per content and kept; the image is built
/// per run and removed at its end.
/// </summary>
internal static class SoakImage
{
    /// <summary>tests/Host/Podman.cs's BasePackages (the distroless cc base) plus busybox-static for the workload.</summary>
    public const string BasePackages = "libc6,libgcc-s1,libssl3,busybox-static";
    public const string Suite = "bookworm";

    public static string EnsureBase(PodmanCli podman)
    {
        var key = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{Suite}|extract|{BasePackages}")))[..16];
        var image = $"localhost/xtcp-epoll-soak-base:{key}";
        if (podman.TryRun("image", "exists", image).Code == 0) return image;
        var dir = Directory.CreateTempSubdirectory("xtcp-soak-base-").FullName;
        try
        {
            var tar = Path.Combine(dir, "base.tar");
            podman.Exec("mmdebstrap", ["--quiet", "--variant=extract", $"--include={BasePackages}", Suite, tar], TimeSpan.FromMinutes(10));
            podman.Run("import", "--quiet", tar, image);
            return image;
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    /// <summary>Builds the project image with the collector published in <paramref name="publishDir"/>; returns its tag.</summary>
    public static string Build(PodmanCli podman, string repoRoot, string publishDir, string tag)
    {
        var baseImage = EnsureBase(podman);
        podman.Exec(Path.Combine(repoRoot, "deploy", "container", "build.sh"), ["--base", baseImage, "--tag", tag, "--publish-dir", publishDir], TimeSpan.FromMinutes(10));
        return tag;
    }
}
