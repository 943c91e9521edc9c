namespace XtcpEpoll.Tests.Host;

/// <summary>
/// `dotnet publish src/Host -c Release` into a world-readable temp directory, once per test run (the
/// privilege test runs it as another user, so it must not live under /root or a 0700 temp dir).
/// </summary>
internal static class PublishedBinary
{
    private static readonly Lazy<string> Directory = new(Publish, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Path of the published xtcp-epoll apphost.</summary>
    public static string Executable => Path.Combine(Directory.Value, "xtcp-epoll");

    private static string Publish()
    {
        var output = System.IO.Directory.CreateTempSubdirectory("xt-host-publish-").FullName;
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(output, (UnixFileMode)0b111_101_101);
        var project = Path.Combine(TestPaths.RepoRoot, "src", "Host", "XtcpEpoll.Host.csproj");
        // --no-restore: the solution build restored already; a restore here can stall on the package mirror.
        Shell.Run("dotnet", "publish", project, "-c", "Release", "-o", output, "--nologo", "-v", "q", "--no-restore");
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try { System.IO.Directory.Delete(output, recursive: true); } catch (IOException) { }
        };
        return output;
    }
}
