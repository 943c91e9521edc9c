namespace XtcpEpoll.Tests;

/// <summary>Where the repository and the shared reference material (beside the checkout) live.</summary>
public static class TestPaths
{
    public static string RepoRoot { get; } = FindRepoRoot();

    /// <summary>../shared/fixtures/netlink beside the checkout (CI has it too).</summary>
    public static string Fixtures { get; } = Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared", "fixtures", "netlink"));

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
