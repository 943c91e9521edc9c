using System.Net;
using System.Net.Sockets;
using XtcpEpoll.Netlink.Native;

namespace XtcpEpoll.Tests.Host;

/// <summary>
/// A private directory of persistent network namespaces (unshare --net=FILE bind mounts), each holding
/// known TCP sockets: listeners on 127.0.0.1 and one established connection per listener (two sockets).
/// The daemon under test is pointed at the directory with --netns-dirs, so namespaces created by other
/// tests (in /run/netns) never change what it sees. Everything is removed on Dispose, even after failures.
/// </summary>
public sealed class TestNamespaces : IDisposable
{
    private readonly List<string> _mounts = [];
    private readonly List<Socket> _sockets = [];

    public TestNamespaces(string area)
    {
        Directory = System.IO.Directory.CreateTempSubdirectory($"xt-{area}-");
        // Readable by an unprivileged daemon (setpriv test): CreateTempSubdirectory makes it 0700.
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(Directory.FullName, (UnixFileMode)0b111_101_101);
        Prefix = $"xt-{area}-{Random.Shared.Next(0x10000, 0xFFFFF):x}";
    }

    public DirectoryInfo Directory { get; }
    public string Prefix { get; }
    public IReadOnlyList<string> Names => _mounts.ConvertAll(Path.GetFileName)!;

    /// <summary>Ports of the listeners, per namespace name.</summary>
    public Dictionary<string, List<int>> ListenerPorts { get; } = [];

    /// <summary>Creates a namespace with <paramref name="listeners"/> listeners, each with one established connection.</summary>
    public string Add(int listeners)
    {
        var name = $"{Prefix}-{_mounts.Count}";
        var path = Path.Combine(Directory.FullName, name);
        File.WriteAllBytes(path, []);
        Shell.Run("unshare", $"--net={path}", "true");
        _mounts.Add(path);
        Shell.Run("nsenter", $"--net={path}", "ip", "link", "set", "lo", "up");
        ListenerPorts[name] = OpenSocketsInside(path, listeners);
        return name;
    }

    /// <summary>Sockets the kernel reports for each namespace created with Add(listeners).</summary>
    public static int SocketsPerNamespace(int listeners) => listeners * 3;

    /// <summary>
    /// Creates the sockets on a dedicated thread that enters the namespace and creates no threads; the
    /// thread ends afterwards, so even a failed restore cannot leak a thread sitting in the namespace.
    /// </summary>
    private List<int> OpenSocketsInside(string nsPath, int listeners)
    {
        var ports = new List<int>();
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                using var original = NetNamespace.Open(NetNamespace.ThreadPath, out int errno) ?? throw new IOException($"open {NetNamespace.ThreadPath}: errno {errno}");
                using var target = NetNamespace.Open(nsPath, out errno) ?? throw new IOException($"open {nsPath}: errno {errno}");
                errno = NetNamespace.Enter(target);
                if (errno != 0) throw new InvalidOperationException($"setns into {nsPath}: errno {errno}");
                try
                {
                    for (var i = 0; i < listeners; i++)
                    {
                        var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                        _sockets.Add(listener);
                        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
                        listener.Listen(8);
                        var port = ((IPEndPoint)listener.LocalEndPoint!).Port;
                        ports.Add(port);
                        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                        _sockets.Add(client);
                        client.Connect(new IPEndPoint(IPAddress.Loopback, port));
                        _sockets.Add(listener.Accept());
                    }
                }
                finally
                {
                    if (NetNamespace.Enter(original) != 0)
                        failure ??= new InvalidOperationException("could not restore the test thread's namespace");
                }
            }
            catch (Exception e)
            {
                failure ??= e;
            }
        }) { IsBackground = true, Name = "xt-test-nsenter" };
        thread.Start();
        thread.Join();
        if (failure != null) throw new InvalidOperationException("opening sockets in " + nsPath, failure);
        return ports;
    }

    public void Dispose()
    {
        foreach (var socket in _sockets) socket.Dispose();
        foreach (var mount in _mounts) Shell.TryRun("umount", mount);
        try { Directory.Delete(recursive: true); } catch (IOException) { }
    }
}
