using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using XtcpEpoll.Netlink.Native;

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
public sealed class TestNamespaceFarm : IDisposable
{
    private const byte AfInet = 2, AfInet6 = 10, Listen = 10, Established = 1;
    private readonly BlockingCollection<Action> _work = new();
    private readonly Thread _thread;
    private readonly Dictionary<string, TestNamespace> _live = new();
    private readonly OwnedFd _homeFd;
    private readonly ulong _homeInode;
    private int _counter;

    public TestNamespaceFarm(string area)
    {
        Prefix = $"xt-{area}-{Random.Shared.Next(100000, 999999)}";
        Dir = "/run/" + Prefix;
        Directory.CreateDirectory(Dir);
        _homeFd = NetNamespace.Open(NetNamespace.ProcessPath, out int errno)
            ?? throw new InvalidOperationException($"open {NetNamespace.ProcessPath}: errno {errno}");
        _homeInode = Files.Stat(_homeFd).Inode;
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
        using var fd = NetNamespace.Open(ns.Path, out int errno) ?? throw new InvalidOperationException($"open {ns.Path}: errno {errno}");
        try
        {
            errno = NetNamespace.Enter(fd);
            if (errno != 0) throw new InvalidOperationException($"setns {ns.Path}: errno {errno}");
            return work();
        }
        finally
        {
            ReturnHome();
        }
    });

    /// <summary>Bind-mounts an existing test namespace a second time, under another name (cleaned up by Dispose).</summary>
    public string MountAlias(TestNamespace ns, string name)
    {
        var path = System.IO.Path.Combine(Dir, name);
        File.WriteAllBytes(path, []);
        int errno = Mounts.Bind(ns.Path, path);
        if (errno != 0) throw new InvalidOperationException($"bind mount {path}: errno {errno}");
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
        int errno = NetNamespace.EnterNew();
        if (errno != 0) throw new InvalidOperationException($"unshare errno {errno}");
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
            errno = Mounts.Bind(NetNamespace.ThreadPath, path);
            if (errno != 0) throw new InvalidOperationException($"bind mount {path}: errno {errno}");
            ns = new TestNamespace { Name = name, Path = path, Inode = Files.Stat(path).Inode };
            ns.Sockets.AddRange(sockets);
            ns.Expected.AddRange(expected);
            lock (_live) _live[name] = ns;
            return ns;
        }
        catch
        {
            foreach (var s in sockets) s.Dispose();
            if (File.Exists(path)) { Mounts.Detach(path); File.Delete(path); }
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
        if (NetNamespace.Enter(_homeFd) != 0 || NetNamespace.InodeOfThread() != _homeInode)
            Environment.FailFast("test namespace maker could not return to its namespace");
    }

    private void DeleteHere(TestNamespace ns)
    {
        lock (_live) _live.Remove(ns.Name);
        foreach (var s in ns.Sockets) s.Dispose();
        ns.Sockets.Clear();
        Mounts.Detach(ns.Path);
        File.Delete(ns.Path);
    }

    private static void BringLoopbackUp()
    {
        int errno = NetInterfaces.BringUp("lo");
        if (errno != 0) throw new InvalidOperationException($"bringing lo up: errno {errno}");
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
            _homeFd.Dispose();
            foreach (var file in Directory.EnumerateFiles(Dir))
            {
                Mounts.Detach(file);
                File.Delete(file);
            }
            Directory.Delete(Dir);
        }
    }
}
