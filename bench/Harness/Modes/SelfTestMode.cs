using System.Diagnostics;
using XtcpEpoll.Bench.Harness.Infra;
using XtcpEpoll.Netlink.Native;
using XtcpEpoll.Bench.Harness.Population;

namespace XtcpEpoll.Bench.Harness.Modes;

/// <summary>
/// Checks the population machinery without a collector: namespaces are distinct and real, each holds the
/// expected sockets per family (counted by `ss` inside it), the harness's own threads stay home, and teardown
/// leaves no mount, file or holder behind.
/// </summary>
internal sealed class SelfTestMode(HarnessContext c)
{
    public async Task<bool> RunAsync()
    {
        int n = c.Options.Int("ns", 20), conns = c.Options.Int("conns", 10), listeners = c.Options.Int("listeners", 1);
        c.Options.RejectUnknown();
        var failures = new List<string>();
        ulong home = NetNamespace.InodeOfThread();
        string watchDir;
        var sw = Stopwatch.StartNew();
        using (var bed = new Testbed("selftest"))
        {
            watchDir = bed.WatchDir;
            var created = await bed.AddAsync(n, listeners, conns, c.Token);
            Console.WriteLine($"created {n} namespaces with {bed.SocketsAlive} sockets over {bed.HolderCount} holder(s) in {sw.Elapsed.TotalSeconds:F2} s");
            var inodes = new HashSet<ulong>(created.Select(x => x.Inode));
            if (inodes.Count != n || inodes.Contains(home)) failures.Add("namespace inodes are not distinct from each other and from the host");
            int v4Expected = listeners > 1 ? 1 + 2 * ((conns + 1) / 2) - ((conns + 1) / 2) : (conns + 1) / 2;
            foreach (var ns in created.Take(3).Concat(created.TakeLast(2)).Distinct())
            {
                int all = ChildCommand.CountSockets(ns.Path), v4 = ChildCommand.CountSockets(ns.Path, "-4"), v6 = ChildCommand.CountSockets(ns.Path, "-6");
                Console.WriteLine($"  {ns.Name} inode {ns.Inode}: ss sees {all} sockets ({v4} IPv4, {v6} IPv6), holder made {ns.Sockets}");
                if (all != listeners + 2 * conns || all != ns.Sockets) failures.Add($"{ns.Name}: {all} sockets, expected {listeners + 2 * conns}");
                if (listeners == 1 && v4 != v4Expected) failures.Add($"{ns.Name}: {v4} IPv4 sockets, expected {v4Expected}");
            }
            if (NetNamespace.InodeOfThread() != home) failures.Add("harness thread left the host namespace");
            var victim = created[0];
            await bed.RemoveAsync(victim);
            if (File.Exists(victim.Path) || IsMounted(victim.Path)) failures.Add($"{victim.Name} still present after removal");
        }
        if (Directory.Exists(watchDir) || File.ReadAllText("/proc/self/mountinfo").Contains(watchDir, StringComparison.Ordinal))
            failures.Add($"{watchDir} or a mount under it survived teardown");
        Console.WriteLine($"selftest finished in {sw.Elapsed.TotalSeconds:F2} s");
        foreach (var f in failures) Console.WriteLine("FAIL " + f);
        Console.WriteLine(failures.Count == 0 ? "PASS selftest" : "FAIL selftest");
        return failures.Count == 0;
    }

    private static bool IsMounted(string path) => File.ReadAllText("/proc/self/mountinfo").Contains(" " + path + " ", StringComparison.Ordinal);
}
