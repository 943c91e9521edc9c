namespace XtcpEpoll.Tests.Host;

/// <summary>
/// The shipped form of the daemon: the Native AOT executable `dotnet publish src/Host -c Release` makes.
/// Every test that starts the daemon as a process runs this one, so each feature is proven as shipped.
/// <para>
/// Published once per test run, shared by every test class: an AOT publish costs minutes on 2 cores.
/// test.sh publishes before the tests and names the directory in XTCP_EPOLL_PUBLISHED (the scale harness
/// reuses it); without it (a bare `dotnet test`), the first test that needs the binary publishes into a
/// world-readable temp directory (the least-privilege test runs it as another user, so it must not live
/// under /root or a 0700 temp dir), deleted when the test process exits.
/// </para>
/// </summary>
public static class PublishedBinary
{
    /// <summary>The variable naming an already published directory (test.sh sets it).</summary>
    public const string DirectoryVariable = "XTCP_EPOLL_PUBLISHED";

    private static readonly Lazy<string> PublishedDirectory = new(FindOrPublish, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Path of the published xtcp-epoll executable (publishes on first use).</summary>
    public static string Executable => Path.Combine(PublishedDirectory.Value, "xtcp-epoll");

    private static string FindOrPublish()
    {
        if (Environment.GetEnvironmentVariable(DirectoryVariable) is { Length: > 0 } given)
        {
            if (!File.Exists(Path.Combine(given, "xtcp-epoll")))
                throw new InvalidOperationException($"{DirectoryVariable}={given} has no xtcp-epoll executable");
            return given;
        }
        var directory = Directory.CreateTempSubdirectory("xt-host-publish-").FullName;
        File.SetUnixFileMode(directory, (UnixFileMode)0b111_101_101);
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try { Directory.Delete(directory, recursive: true); } catch (IOException) { }
        };
        var project = Path.Combine(TestPaths.RepoRoot, "src", "Host", "XtcpEpoll.Host.csproj");
        // --no-restore: the solution build restored already (both RIDs, see the csproj); a restore here can
        // stall on the package mirror.
        Shell.Run("dotnet", "publish", project, "-c", "Release", "-o", directory, "--nologo", "-v", "q", "--no-restore");
        return directory;
    }
}
