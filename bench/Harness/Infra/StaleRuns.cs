using XtcpEpoll.Bench.Harness.Population;

namespace XtcpEpoll.Bench.Harness.Infra;

/// <summary>Removes /run/xtcp-bench-PID trees left by a harness that was SIGKILLed (its PID is gone).</summary>
internal static class StaleRuns
{
    public static void Remove()
    {
        foreach (var dir in Directory.GetDirectories("/run", "xtcp-bench-*"))
        {
            if (!int.TryParse(Path.GetFileName(dir)["xtcp-bench-".Length..], out int pid) || Directory.Exists($"/proc/{pid}")) continue;
            Console.Error.WriteLine($"harness: removing stale {dir}");
            foreach (var sub in Directory.GetDirectories(dir))
            {
                foreach (var f in Directory.GetFiles(sub)) NetnsFactory.Delete(f);
                try { Directory.Delete(sub); } catch (IOException) { }
            }
            try { Directory.Delete(dir); } catch (IOException) { }
        }
    }
}
