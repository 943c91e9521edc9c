using System.Diagnostics;
using System.Globalization;

namespace XtcpEpoll.Bench.Harness.Infra;

/// <summary>Runs a short command, optionally timed by bash's `time` (wall, user, sys from the child's rusage, ms precision).</summary>
internal static class ChildCommand
{
    public static (int Exit, string Stdout, string Stderr) Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {file}");
        var err = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, stdout, err.Result);
    }

    /// <summary>Wall, user and sys seconds of a shell command line (its output discarded).</summary>
    public static (double Wall, double User, double Sys) Time(string shellCommand)
    {
        var (exit, _, stderr) = Run("bash", "-c", $"TIMEFORMAT='@@time %3R %3U %3S'; time ( {shellCommand} ) > /dev/null");
        var line = stderr.Split('\n').LastOrDefault(l => l.StartsWith("@@time ", StringComparison.Ordinal));
        if (exit != 0 || line == null) throw new InvalidOperationException($"`{shellCommand}` failed (exit {exit}): {stderr.Trim()}");
        var f = line.Split(' ');
        return (double.Parse(f[1], CultureInfo.InvariantCulture), double.Parse(f[2], CultureInfo.InvariantCulture), double.Parse(f[3], CultureInfo.InvariantCulture));
    }

    /// <summary>Number of TCP sockets `ss` sees inside a namespace (all states), by family filter ("" / "-4" / "-6").</summary>
    public static int CountSockets(string? nsPath, string family = "", bool excludeTimeWait = false)
    {
        var args = new List<string>();
        string file = "ss";
        if (nsPath != null) { file = "nsenter"; args.AddRange(new[] { "--net=" + nsPath, "ss" }); }
        args.Add("-tanH");
        if (family.Length > 0) args.Add(family);
        if (excludeTimeWait) args.AddRange(new[] { "exclude", "time-wait" });
        var (exit, stdout, stderr) = Run(file, args.ToArray());
        if (exit != 0) throw new InvalidOperationException($"ss in {nsPath ?? "host"} failed: {stderr.Trim()}");
        return stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length;
    }
}
