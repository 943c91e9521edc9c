using XtcpEpoll.Bench.Harness.Native;
using XtcpEpoll.Netlink.Native;

namespace XtcpEpoll.Bench.Harness.Population;

/// <summary>
/// The hidden `hold` verb: a child process that keeps loopback sockets open in namespaces it is told about,
/// so the harness can spread tens of thousands of fds over processes (20,000-fd hard limit each).
/// Line protocol on stdin/stdout:
///   add PATH LISTENERS CONNECTIONS  -> ok PATH SOCKETS | err PATH MESSAGE
///   connect PATH COUNT [4|6]        -> connected PATH FAMILY:CLIENTPORT:SERVERPORT ... | err PATH MESSAGE
///                                      (COUNT more connections to PATH's listener, families alternating from
///                                      the one given, default 4; kept open with the rest until `drop PATH`)
///   drop PATH                       -> dropped PATH SOCKETS
/// It says `hello PID` when started and exits when stdin closes (so it never outlives the harness).
/// </summary>
internal static class SocketHolder
{
    public static int Run()
    {
        ResourceLimits.RaiseOpenFilesToHard();
        var held = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        var listeners = new Dictionary<string, LoopbackSockets.Listeners>(StringComparer.Ordinal);
        using var nsThread = new NamespaceThread("holder-netns");
        var stdout = Console.Out;
        stdout.WriteLine($"hello {Environment.ProcessId}");
        stdout.Flush();
        string? line;
        while ((line = Console.In.ReadLine()) != null)
        {
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length == 0) continue;
            if (parts[0] == "add" && parts.Length == 4)
            {
                string path = parts[1];
                var fds = new List<int>();
                try
                {
                    var made = nsThread.Run(() =>
                    {
                        NamespaceThread.Enter(path);
                        return LoopbackSockets.Create(int.Parse(parts[2]), int.Parse(parts[3]), fds);
                    });
                    listeners.TryAdd(path, made);
                    Keep(held, path, fds);
                    stdout.WriteLine($"ok {path} {fds.Count}");
                }
                catch (Exception e)
                {
                    LoopbackSockets.CloseAll(fds);
                    stdout.WriteLine($"err {path} {e.Message.Replace('\n', ' ')}");
                }
            }
            else if (parts[0] == "connect" && parts.Length is 3 or 4)
            {
                string path = parts[1];
                var fds = new List<int>();
                try
                {
                    if (!listeners.TryGetValue(path, out var listener)) throw new IOException("this holder has no listener in " + path);
                    int count = int.Parse(parts[2]);
                    bool ipv4First = parts.Length == 3 || parts[3] == "4";
                    var made = nsThread.Run(() =>
                    {
                        NamespaceThread.Enter(path);
                        var list = new List<LoopbackSockets.Connection>(count);
                        for (int i = 0; i < count; i++) list.Add(LoopbackSockets.Connect(listener, ipv4First == (i % 2 == 0), fds));
                        return list;
                    });
                    Keep(held, path, fds);
                    stdout.WriteLine($"connected {path} {string.Join(' ', made.Select(m => $"{m.Family}:{m.ClientPort}:{m.ServerPort}"))}");
                }
                catch (Exception e)
                {
                    LoopbackSockets.CloseAll(fds);
                    stdout.WriteLine($"err {path} {e.Message.Replace('\n', ' ')}");
                }
            }
            else if (parts[0] == "drop" && parts.Length == 2)
            {
                int n = 0;
                listeners.Remove(parts[1]);
                if (held.Remove(parts[1], out var fds)) { n = fds.Count; LoopbackSockets.CloseAll(fds); }
                stdout.WriteLine($"dropped {parts[1]} {n}");
            }
            else stdout.WriteLine($"err - unknown command: {line}");
            stdout.Flush();
        }
        foreach (var fds in held.Values) LoopbackSockets.CloseAll(fds);
        return 0;
    }

    private static void Keep(Dictionary<string, List<int>> held, string path, List<int> fds)
    {
        if (held.TryGetValue(path, out var existing)) existing.AddRange(fds); else held[path] = fds;
    }
}
