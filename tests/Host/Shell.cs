using System.Diagnostics;

namespace XtcpEpoll.Tests.Host;

/// <summary>Runs a helper command (ip, unshare, umount, useradd...) and fails loudly when it fails.</summary>
internal static class Shell
{
    public static string Run(string file, params string[] args)
    {
        var (code, stdout, stderr) = TryRun(file, args);
        if (code != 0)
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} exited {code}: {stderr.Trim()}");
        return stdout;
    }

    public static (int Code, string Stdout, string Stderr) TryRun(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file, args)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(psi)!;
        var stderrTask = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, stdout, stderrTask.Result);
    }
}
