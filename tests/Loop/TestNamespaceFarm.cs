using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using XtcpEpoll.Loop.Native;

namespace XtcpEpoll.Tests.Loop;

/// <summary>Which sockets a test namespace holds.</summary>
public enum SocketKit
{
    /// <summary>No sockets (an empty namespace yields no records).</summary>
    None,
    /// <summary>One IPv4 listener.</summary>
    Listener,
    /// <summary>IPv4 listener + one established IPv4 pair (3 sockets).</summary>
    PairV4,
    /// <summary>IPv4 and IPv6 listeners, one established pair of each (6 sockets).</summary>
    Full,
}

/// <summary>A socket the test expects the collector to report: (family, state, source port, destination port).</summary>
public readonly record struct ExpectedSocket(byte Family, byte State, ushort SourcePort, ushort DestinationPort);

public sealed class TestNamespace
{
    public required string Name { get; init; }
    public required string Path { get; init; }
    public required ulong Inode { get; init; }
    public List<Socket> Sockets { get; } = new();
    public List<ExpectedSocket> Expected { get; } = new();
}

/// <summary>
/// Creates real network namespaces fast, with real loopback sockets inside, bind-mounted into a private
/// directory under /run that the collector under test watches (so parallel tests never see each other's).
/// All setns/unshare work runs on one dedicated thread that creates no threads: unshare(CLONE_NEWNET) →
/// lo up (SIOCSIFFLAGS) → sockets → bind mount of /proc/thread-self/ns/net → setns home (verified).
/// Dispose closes every socket, unmounts and deletes every namespace and the directory, even after failures.
/// </summary>
public sealed unsafe class TestNamespaceFarm : IDisposable
{
    private const byte AfInet = 2, AfInet6 = 10, Listen = 10, Established = 1;
    private readonly BlockingCollection<Action> _work = new();
    private readonly Thread _thread;
    private readonly Dictionary<string, TestNamespace> _live = new();
    private readonly int _homeFd;
    private readonly ulong _homeInode;
    private int _counter;

    public TestNamespaceFarm(string area)
    {
        Prefix = $"xt-{area}-{Random.Shared.Next(100000, 999999)}";
        Dir = "/run/" + Prefix;
        Directory.CreateDirectory(Dir);
        _homeFd = Sys.open("/proc/self/ns/net", Sys.O_RDONLY | Sys.O_CLOEXEC);
        _homeInode = Sys.InodeOfFd(_homeFd);
        _thread = new Thread(Serve) { IsBackground = true, Name = "xt-test-nsmaker" };
        _thread.Start();
    }

    public string Prefix { get; }
    public string Dir { get; }

    public IReadOnlyCollection<TestNamespace> Live
    {
        get { lock (_live) return [.. _live.Values]; }
    }

    public TestNamespace Create(SocketKit kit) => Run(() => CreateHere($"{Prefix}-{Interlocked.Increment(ref _counter)}", kit));

    public List<TestNamespace> CreateMany(int count, SocketKit kit)
    {
        return Run(() =>
        {
            var list = new List<TestNamespace>(count);
            for (int i = 0; i < count; i++) list.Add(CreateHere($"{Prefix}-{Interlocked.Increment(ref _counter)}", kit));
            return list;
        });
    }

    /// <summary>A namespace with <paramref name="count"/> IPv4 listeners (a dump of many batches).</summary>
    public TestNamespace CreateWithListeners(int count) => Run(() =>
    {
        var ns = CreateHere($"{Prefix}-{Interlocked.Increment(ref _counter)}", SocketKit.None, extraListeners: count);
        return ns;
    });

    public void Delete(TestNamespace ns) => Run(() => { DeleteHere(ns); return 0; });

    /// <summary>
    /// Runs <paramref name="work"/> on the farm thread inside <paramref name="ns"/> (e.g. to open sockets
    /// there after the collector has seen it); sockets it returns are closed with the namespace.
    /// </summary>
    public T RunInside<T>(TestNamespace ns, Func<T> work) => Run(() =>
    {
        int fd = Sys.open(ns.Path, Sys.O_RDONLY | Sys.O_CLOEXEC);
        if (fd < 0) throw new InvalidOperationException($"open {ns.Path}: errno {Sys.Errno}");
        try
        {
            if (Sys.setns(fd, Sys.CLONE_NEWNET) != 0) throw new InvalidOperationException($"setns {ns.Path}: errno {Sys.Errno}");
            return work();
        }
        finally
        {
            Sys.close(fd);
            ReturnHome();
        }
    });

    /// <summary>Bind-mounts an existing test namespace a second time, under another name (cleaned up by Dispose).</summary>
    public string MountAlias(TestNamespace ns, string name)
    {
        var path = System.IO.Path.Combine(Dir, name);
        File.WriteAllBytes(path, []);
        if (Sys.mount(ns.Path, path, null, Sys.MS_BIND, null) != 0)
            throw new InvalidOperationException($"bind mount {path}: errno {Sys.Errno}");
        return path;
    }

    /// <summary>Puts a regular file (not a namespace) into the watched directory.</summary>
    public string CreateStrayFile(string name)
    {
        var path = System.IO.Path.Combine(Dir, name);
        File.WriteAllText(path, "not a namespace");
        return path;
    }

    private T Run<T>(Func<T> work)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        _work.Add(() =>
        {
            try { done.SetResult(work()); }
            catch (Exception ex) { done.SetException(ex); }
        });
        return done.Task.GetAwaiter().GetResult();
    }

    private void Serve()
    {
        foreach (var item in _work.GetConsumingEnumerable()) item();
    }

    private TestNamespace CreateHere(string name, SocketKit kit, int extraListeners = 0)
    {
        if (Sys.unshare(Sys.CLONE_NEWNET) != 0) throw new InvalidOperationException($"unshare errno {Sys.Errno}");
        var path = System.IO.Path.Combine(Dir, name);
        TestNamespace? ns = null;
        var sockets = new List<Socket>();
        var expected = new List<ExpectedSocket>();
        try
        {
            BringLoopbackUp();
            if (kit != SocketKit.None) AddSockets(kit, sockets, expected);
            for (int i = 0; i < extraListeners; i++) AddFamily(IPAddress.Loopback, AfInet, connect: false, sockets, expected);
            File.WriteAllBytes(path, []);
            if (Sys.mount("/proc/thread-self/ns/net", path, null, Sys.MS_BIND, null) != 0)
                throw new InvalidOperationException($"bind mount {path}: errno {Sys.Errno}");
            ns = new TestNamespace { Name = name, Path = path, Inode = Sys.StatPath(path).Ino };
            ns.Sockets.AddRange(sockets);
            ns.Expected.AddRange(expected);
            lock (_live) _live[name] = ns;
            return ns;
        }
        catch
        {
            foreach (var s in sockets) s.Dispose();
            if (File.Exists(path)) { Sys.umount2(path, Sys.MNT_DETACH); File.Delete(path); }
            throw;
        }
        finally
        {
            ReturnHome();
        }
    }

    /// <summary>The farm thread goes back to the test process's namespace, or the process dies (never a thread in the wrong one).</summary>
    private void ReturnHome()
    {
        if (Sys.setns(_homeFd, Sys.CLONE_NEWNET) != 0 || Sys.StatPath("/proc/thread-self/ns/net").Ino != _homeInode)
            Environment.FailFast("test namespace maker could not return to its namespace");
    }

    private void DeleteHere(TestNamespace ns)
    {
        lock (_live) _live.Remove(ns.Name);
        foreach (var s in ns.Sockets) s.Dispose();
        ns.Sockets.Clear();
        Sys.umount2(ns.Path, Sys.MNT_DETACH);
        File.Delete(ns.Path);
    }

    private static void BringLoopbackUp()
    {
        using var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        byte* ifreq = stackalloc byte[40];
        new Span<byte>(ifreq, 40).Clear();
        ifreq[0] = (byte)'l'; ifreq[1] = (byte)'o';
        int fd = (int)s.Handle;
        if (Sys.ioctl(fd, Sys.SIOCGIFFLAGS, ifreq) != 0) throw new InvalidOperationException($"SIOCGIFFLAGS errno {Sys.Errno}");
        *(short*)(ifreq + 16) |= 1; // IFF_UP
        if (Sys.ioctl(fd, Sys.SIOCSIFFLAGS, ifreq) != 0) throw new InvalidOperationException($"SIOCSIFFLAGS errno {Sys.Errno}");
    }

    private static void AddSockets(SocketKit kit, List<Socket> sockets, List<ExpectedSocket> expected)
    {
        AddFamily(IPAddress.Loopback, AfInet, connect: kit != SocketKit.Listener, sockets, expected);
        if (kit == SocketKit.Full) AddFamily(IPAddress.IPv6Loopback, AfInet6, connect: true, sockets, expected);
    }

    private static void AddFamily(IPAddress loopback, byte family, bool connect, List<Socket> sockets, List<ExpectedSocket> expected)
    {
        var listener = new Socket(loopback.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        sockets.Add(listener);
        listener.Bind(new IPEndPoint(loopback, 0));
        listener.Listen(8);
        ushort port = (ushort)((IPEndPoint)listener.LocalEndPoint!).Port;
        expected.Add(new ExpectedSocket(family, Listen, port, 0));
        if (!connect) return;
        var client = new Socket(loopback.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        sockets.Add(client);
        client.Connect(new IPEndPoint(loopback, port));
        var accepted = listener.Accept();
        sockets.Add(accepted);
        ushort clientPort = (ushort)((IPEndPoint)client.LocalEndPoint!).Port;
        expected.Add(new ExpectedSocket(family, Established, clientPort, port));
        expected.Add(new ExpectedSocket(family, Established, port, clientPort));
    }

    public void Dispose()
    {
        try
        {
            Run(() =>
            {
                foreach (var ns in Live) DeleteHere(ns);
                return 0;
            });
        }
        finally
        {
            _work.CompleteAdding();
            _thread.Join();
            Sys.close(_homeFd);
            foreach (var file in Directory.EnumerateFiles(Dir))
            {
                Sys.umount2(file, Sys.MNT_DETACH);
                File.Delete(file);
            }
            Directory.Delete(Dir);
        }
    }
}
