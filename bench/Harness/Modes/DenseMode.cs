using XtcpEpoll.Bench.Harness.Collector;
using XtcpEpoll.Bench.Harness.Infra;
using XtcpEpoll.Bench.Harness.Measure;
using XtcpEpoll.Bench.Harness.Population;
using XtcpEpoll.Bench.Harness.Report;

namespace XtcpEpoll.Bench.Harness.Modes;

/// <summary>
/// One namespace with as many sockets as the fd limits allow (spread over several holders), our poll against
/// `ss -tinm` dumping the same namespace in the same run: wall and CPU, and the kernel's (sys) share versus
/// userspace (user).
/// </summary>
internal sealed class DenseMode(HarnessContext c)
{
    public async Task<bool> RunAsync()
    {
        int sockets = c.Options.Int("sockets", 24_000), polls = c.Options.Int("polls", 10), warmup = c.Options.Int("warmup", 1);
        string? request = c.Options.String("request");
        var frequency = c.Options.Duration("frequency", TimeSpan.FromSeconds(1));
        c.Options.RejectUnknown();
        var failures = new List<string>();
        string collector = c.Collector;
        using var bed = new Testbed("dense");
        var ns = await bed.AddDenseAsync(sockets / 2, c.Token);
        int inNs = ChildCommand.CountSockets(ns.Path);
        Console.Error.WriteLine($"harness: dense namespace {ns.Name}: {ns.Sockets} sockets over {bed.HolderCount} holders (ss sees {inNs})");

        await CpuQuiet.WaitAsync(0.15, c.QuietWait, c.Token);
        var settings = new CollectorSettings { NetnsDir = bed.WatchDir, Frequency = frequency, Timeout = frequency * 0.8, Workers = c.Workers, Extra = c.CollectorArgs, Request = request };
        PollMeasurement m;
        int host, hostStable;
        using (var proc = CollectorProcess.Start(collector, settings, c.LogPrefix("dense")))
        {
            Console.Error.WriteLine($"harness: {proc.CommandLine}");
            m = await PollMeter.MeasureAsync(proc, warmup, polls, frequency, c.Token);
            host = ChildCommand.CountSockets(null);
            hostStable = ChildCommand.CountSockets(null, excludeTimeWait: true);
            proc.StopAndCheck("", m.Error, failures);
        }

        // ss in the same namespace, same run: the median of `polls` runs (ss prints everything; output discarded).
        var ssRuns = new List<(double Wall, double User, double Sys)>();
        for (int i = 0; i < Math.Max(3, polls); i++) ssRuns.Add(ChildCommand.Time($"nsenter --net={ns.Path} ss -tinm"));
        var ss = ssRuns.OrderBy(r => r.Wall).ElementAt(ssRuns.Count / 2);
        double ssCpu = ss.User + ss.Sys;

        double oursWall = m.PollP50, oursCpu = m.CpuPerPollSec;
        double userPerSocket = m.UserPerPollSec / m.SocketsPerPoll, sysPerSocket = m.SysPerPollSec / m.SocketsPerPoll;
        bool? socketsOk = double.IsNaN(m.SocketsPerPoll) ? null : m.SocketsPerPoll >= inNs + hostStable - 2 && m.SocketsPerPoll <= inNs + host + 2;
        bool? userOk = double.IsNaN(userPerSocket) ? null : userPerSocket * 1e6 <= 0.5 && userPerSocket <= 0.25 * sysPerSocket;
        if (socketsOk == false) failures.Add($"sockets per poll {m.SocketsPerPoll} != {inNs} + host {hostStable}..{host}");
        if (userOk == false) failures.Add($"user CPU per socket {Fmt.Us(userPerSocket)} us (goal <= 0.5 us and < 25 % of sys {Fmt.Us(sysPerSocket)} us)");

        var table = new ResultTable($"dense: one namespace with {inNs:N0} sockets; xtcp-epoll poll (median of {m.Polls}) vs `ss -tinm` (median of {ssRuns.Count})",
            "tool", "sockets", "wall ms", "CPU ms", "user ms", "sys ms", "user us/socket", "sys us/socket", "kernel share");
        table.Add("xtcp-epoll", Fmt.Num(m.SocketsPerPoll), Fmt.Ms(oursWall), Fmt.Ms(oursCpu), Fmt.Ms(m.UserPerPollSec), Fmt.Ms(m.SysPerPollSec),
            Fmt.Us(userPerSocket), Fmt.Us(sysPerSocket), Fmt.Pct(m.SysPerPollSec / m.CpuPerPollSec));
        table.Add("ss -tinm", inNs.ToString(), Fmt.Ms(ss.Wall), Fmt.Ms(ssCpu), Fmt.Ms(ss.User), Fmt.Ms(ss.Sys),
            Fmt.Us(ss.User / inNs), Fmt.Us(ss.Sys / inNs), Fmt.Pct(ss.Sys / ssCpu));
        table.Add("ratio ours/ss", "", Fmt.Num(oursWall / ss.Wall, 2), Fmt.Num(oursCpu / ssCpu, 2), Fmt.Num(m.UserPerPollSec / ss.User, 2), Fmt.Num(m.SysPerPollSec / ss.Sys, 2), "", "", "");
        table.Print(Console.Out);
        var notes = new List<string>
        {
            $"Goal: userspace CPU per socket <= 0.5 us and < 25 % of the kernel's sys time per socket: {Fmt.Verdict(userOk)} ({Fmt.Us(userPerSocket)} us user vs {Fmt.Us(sysPerSocket)} us sys).",
            $"Sockets per poll {Fmt.Num(m.SocketsPerPoll)} = namespace {inNs} + host {hostStable}..{host}: {Fmt.Verdict(socketsOk)}. Threads {m.ThreadsMax}, RSS {Fmt.Mb(m.RssKb)} MB, fds {m.OpenFds}.",
            "ss is timed by bash `time` (rusage of nsenter + ss); the collector by schedstat/ticks over the measured polls.",
        };
        notes.AddRange(Anchors.Lines);
        foreach (var n in notes) Console.WriteLine("note: " + n);
        string csv = Path.Combine(c.OutDir, $"dense-{c.RunId}.csv");
        table.WriteCsv(csv);
        Console.WriteLine($"CSV: {csv}");
        c.WriteMarkdown(new[] { table }, notes);
        return c.Verdict(failures);
    }
}
