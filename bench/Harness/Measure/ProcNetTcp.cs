using System.Globalization;

namespace XtcpEpoll.Bench.Harness.Measure;

/// <summary>A TCP socket as /proc/PID/net/tcp{,6} shows it (ports in host order, state as inet_diag numbers it).</summary>
internal readonly record struct TcpEntry(int LocalPort, int RemotePort, int State)
{
    public const int Established = 1, TimeWait = 6, Listen = 10;
}

/// <summary>
/// The TCP sockets of a process's network namespace from /proc/PID/net/tcp and tcp6 (no child process, so it
/// is cheap enough to run every replacement), and the namespace's inode.
/// </summary>
internal static class ProcNetTcp
{
    public static List<TcpEntry> Read(int pid)
    {
        var list = new List<TcpEntry>();
        foreach (var file in new[] { $"/proc/{pid}/net/tcp", $"/proc/{pid}/net/tcp6" })
        {
            foreach (var line in File.ReadLines(file).Skip(1))
            {
                var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (f.Length < 4) continue;
                list.Add(new TcpEntry(Port(f[1]), Port(f[2]), int.Parse(f[3], NumberStyles.HexNumber, CultureInfo.InvariantCulture)));
            }
        }
        return list;
    }

    /// <summary>"0100007F:A029" -> 41001.</summary>
    private static int Port(string addressAndPort) =>
        int.Parse(addressAndPort.AsSpan(addressAndPort.LastIndexOf(':') + 1), NumberStyles.HexNumber, CultureInfo.InvariantCulture);

    /// <summary>The inode of /proc/PID/ns/net (the link reads "net:[INODE]").</summary>
    public static ulong NetnsInode(int pid)
    {
        var target = new FileInfo($"/proc/{pid}/ns/net").LinkTarget ?? throw new IOException($"/proc/{pid}/ns/net is no link");
        return ulong.Parse(target.AsSpan(5, target.Length - 6), CultureInfo.InvariantCulture);
    }
}
