using System.Globalization;

namespace XtcpEpoll.Bench.Harness.Infra;

/// <summary>
/// Waits until the machine is nearly idle: deleted namespaces are torn down by kernel workers in the
/// background, and that work must not land inside the next measurement.
/// </summary>
internal static class CpuQuiet
{
    public static async Task WaitAsync(double busyBelow, TimeSpan limit, CancellationToken ct)
    {
        var until = DateTime.UtcNow + limit;
        var (busy0, total0) = Read();
        while (DateTime.UtcNow < until)
        {
            await Task.Delay(500, ct);
            var (busy, total) = Read();
            double share = (busy - busy0) / Math.Max(1, total - total0);
            (busy0, total0) = (busy, total);
            if (share < busyBelow) return;
        }
    }

    private static (double Busy, double Total) Read()
    {
        var f = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1)
            .Select(x => double.Parse(x, CultureInfo.InvariantCulture)).ToArray();
        double idle = f[3] + f[4];
        double total = f.Take(8).Sum();
        return (total - idle, total);
    }
}
