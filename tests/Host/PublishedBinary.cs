namespace XtcpEpoll.Tests.Host;

/// <summary>
/// `dotnet publish src/Host -c Release` into a world-readable temp directory, once per test class that
/// uses it (the privilege test runs it as another user, so it must not live under /root or a 0700 temp
/// dir). xunit disposes the fixture after the class, which deletes the directory.
/// </summary>
public sealed class PublishedBinary : IDisposable
{
    private readonly string _directory;

    public PublishedBinary()
    {
        _directory = Directory.CreateTempSubdirectory("xt-host-publish-").FullName;
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(_directory, (UnixFileMode)0b111_101_101);
        var project = Path.Combine(TestPaths.RepoRoot, "src", "Host", "XtcpEpoll.Host.csproj");
        // --no-restore: the solution build restored already; a restore here can stall on the package mirror.
        Shell.Run("dotnet", "publish", project, "-c", "Release", "-o", _directory, "--nologo", "-v", "q", "--no-restore");
    }

    /// <summary>Path of the published xtcp-epoll apphost.</summary>
    public string Executable => Path.Combine(_directory, "xtcp-epoll");

    public void Dispose()
    {
        try { Directory.Delete(_directory, recursive: true); } catch (IOException) { }
    }
}
