using System.Diagnostics;

namespace XtcpEpoll.Bench.Harness.Population.Containers;

/// <summary>
/// podman with the settings this kind of host needs (runc, cgroupfs, ulimits at or below the hard limits):
/// CONTAINERS_CONF from the environment if set, else the repo's tests/fixtures/containers.conf.
/// </summary>
internal sealed class PodmanCli(string repoRoot)
{
    public string ContainersConf { get; } = Environment.GetEnvironmentVariable("CONTAINERS_CONF") is { Length: > 0 } conf
        ? conf : Path.Combine(repoRoot, "tests", "fixtures", "containers.conf");

    public string Run(params string[] args) => Exec("podman", args, TimeSpan.FromMinutes(2));

    public (int Code, string Stdout, string Stderr) TryRun(params string[] args) => TryExec("podman", args, TimeSpan.FromMinutes(2));

    public async Task<string> RunAsync(CancellationToken ct, params string[] args)
    {
        var (code, stdout, stderr) = await TryExecAsync("podman", args, TimeSpan.FromMinutes(2), ct);
        if (code != 0) throw new InvalidOperationException($"podman {string.Join(' ', args)} exited {code}: {stderr.Trim()}");
        return stdout;
    }

    public string Exec(string file, string[] args, TimeSpan timeout)
    {
        var (code, stdout, stderr) = TryExec(file, args, timeout);
        if (code != 0) throw new InvalidOperationException($"{file} {string.Join(' ', args)} exited {code}: {stderr.Trim()}");
        return stdout;
    }

    public (int Code, string Stdout, string Stderr) TryExec(string file, string[] args, TimeSpan timeout) =>
        TryExecAsync(file, args, timeout, CancellationToken.None).GetAwaiter().GetResult();

    private async Task<(int Code, string Stdout, string Stderr)> TryExecAsync(string file, string[] args, TimeSpan timeout, CancellationToken ct)
    {
        var psi = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["CONTAINERS_CONF"] = ContainersConf;
        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {file}");
        var stdout = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
        limit.CancelAfter(timeout);
        try { await process.WaitForExitAsync(limit.Token); }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None);
            if (ct.IsCancellationRequested) throw;
            throw new TimeoutException($"{file} {string.Join(' ', args)} ran longer than {timeout}");
        }
        return (process.ExitCode, await stdout, await stderr);
    }
}
