namespace XtcpEpoll.Tests;

/// <summary>Where the repository and its test fixtures live. Tests read nothing outside the repository.</summary>
public static class TestPaths
{
    public static string RepoRoot { get; } = FindRepoRoot();

    /// <summary>tests/fixtures/netlink: the curated sock_diag captures (see its README.md and LICENSE.xtcp2).</summary>
    public static string Fixtures { get; } = Path.Combine(RepoRoot, "tests", "fixtures", "netlink");

    public static string Fixture(string relative) => Path.Combine(Fixtures, relative);

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "XtcpEpoll.sln")))
                return dir.FullName;
        }
        throw new InvalidOperationException("XtcpEpoll.sln not found above " + AppContext.BaseDirectory);
    }
}
