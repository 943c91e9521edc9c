using XtcpEpoll.Bench.Harness.Infra;

namespace XtcpEpoll.Bench.Harness.Population;

/// <summary>
/// Namespaces with loopback sockets in a private watched directory (/run/xtcp-bench-PID/NAME), plus the
/// socket-holder processes. Disposing (or the global cleanup on a signal) kills the holders, unmounts and
/// removes every namespace file and the directories.
/// </summary>
internal sealed class Testbed : IDisposable
{
    /// <summary>fds one holder may use for sockets (limit 20,000 per process; keep a margin for the runtime).</summary>
    public const int HolderFdBudget = 15_000;

    private readonly NetnsFactory _factory = new();
    private readonly List<SocketHolderClient> _holders = new();
    private readonly Dictionary<string, List<(SocketHolderClient Holder, int Sockets)>> _placement = new(StringComparer.Ordinal);
    private readonly List<BenchNamespace> _alive = new();
    private readonly List<BenchNamespace> _ever = new();
    private readonly IDisposable _cleanup;
    private int _sequence;

    private readonly int _holderFdBudget;

    /// <param name="holderFdBudget">Sockets per holder when placing namespaces: a verb that adds connections to existing
    /// namespaces later (<see cref="ConnectAsync"/>, which must use the holder of the namespace's listener) leaves room.</param>
    public Testbed(string name, int holderFdBudget = HolderFdBudget)
    {
        _holderFdBudget = holderFdBudget;
        Root = $"/run/xtcp-bench-{Environment.ProcessId}";
        WatchDir = System.IO.Path.Combine(Root, name);
        Directory.CreateDirectory(WatchDir);
        _cleanup = Cleanup.Register($"testbed {WatchDir}", TearDown);
    }

    public string Root { get; }
    public string WatchDir { get; }
    public IReadOnlyList<BenchNamespace> Alive => _alive;
    /// <summary>Every namespace this testbed made, with its lifetime (the churn check needs the deleted ones).</summary>
    public IReadOnlyList<BenchNamespace> EverCreated => _ever;
    public int HolderCount => _holders.Count;
    public int SocketsAlive { get; private set; }

    /// <summary>Creates <paramref name="count"/> namespaces, each with its sockets; returns once all are ready.</summary>
    public async Task<List<BenchNamespace>> AddAsync(int count, int listeners, int connections, CancellationToken ct)
    {
        var created = new List<BenchNamespace>(count);
        var pending = new List<Task>(count);
        for (int i = 0; i < count; i++)
        {
            ct.ThrowIfCancellationRequested();
            var ns = CreateNamespace();
            created.Add(ns);
            pending.Add(PopulateAsync(ns, listeners, connections));
            if (pending.Count >= 256) { await Task.WhenAll(pending); pending.Clear(); }
        }
        await Task.WhenAll(pending);
        return created;
    }

    /// <summary>One namespace holding many sockets spread over as many holders as the fd budget needs.</summary>
    public async Task<BenchNamespace> AddDenseAsync(int connections, CancellationToken ct)
    {
        var ns = CreateNamespace();
        int perHolder = (HolderFdBudget - 1) / 2;
        var parts = new List<Task>();
        for (int left = connections; left > 0; left -= perHolder)
        {
            ct.ThrowIfCancellationRequested();
            parts.Add(PlaceAsync(ns, 1, Math.Min(left, perHolder), forceNewHolder: true));
        }
        await Task.WhenAll(parts);
        ns.ReadyNs = Clock.UnixNs();
        return ns;
    }

    /// <summary>
    /// <paramref name="count"/> more long-lived loopback connections in a namespace (to its listener; families
    /// alternating from IPv4 or IPv6), kept until the namespace goes. Returns them as the holder made them.
    /// </summary>
    public async Task<List<LoopbackSockets.Connection>> ConnectAsync(BenchNamespace ns, int count, bool ipv4First)
    {
        if (!_placement.TryGetValue(ns.Path, out var places) || places.Count == 0) throw new InvalidOperationException($"{ns.Name} has no sockets to connect to");
        var holder = places[0].Holder;
        if (holder.FdsReserved + 2 * count > HolderFdHardRoom) throw new InvalidOperationException($"socket holder {holder.Index} would hold more than {HolderFdHardRoom} sockets");
        holder.FdsReserved += 2 * count;
        places[0] = (holder, places[0].Sockets + 2 * count);
        string reply = await holder.Send($"connect {ns.Path} {count} {(ipv4First ? 4 : 6)}");
        if (!reply.StartsWith("connected ", StringComparison.Ordinal)) throw new IOException($"socket holder {holder.Index}: {reply}");
        var made = new List<LoopbackSockets.Connection>(count);
        foreach (var part in reply.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(2))
        {
            var f = part.Split(':');
            made.Add(new LoopbackSockets.Connection(int.Parse(f[0]), ushort.Parse(f[1]), ushort.Parse(f[2])));
        }
        lock (_placement)
        {
            ns.Sockets += 2 * made.Count;
            SocketsAlive += 2 * made.Count;
        }
        return made;
    }

    /// <summary>Sockets a holder may reach with later connections (limit 20,000 fds; the runtime needs a few hundred).</summary>
    private const int HolderFdHardRoom = 19_000;

    public async Task RemoveAsync(BenchNamespace ns)
    {
        ns.DeletedNs = Clock.UnixNs();
        _alive.Remove(ns);
        NetnsFactory.Delete(ns.Path);
        if (_placement.Remove(ns.Path, out var places))
        {
            foreach (var (holder, sockets) in places)
            {
                await holder.Send($"drop {ns.Path}");
                holder.FdsReserved -= sockets;
                SocketsAlive -= sockets;
            }
        }
    }

    public async Task RemoveAllAsync()
    {
        foreach (var ns in _alive.ToList()) await RemoveAsync(ns);
    }

    private BenchNamespace CreateNamespace()
    {
        string name = $"xb-{++_sequence:D6}";
        string path = System.IO.Path.Combine(WatchDir, name);
        ulong inode = _factory.Create(path);
        var ns = new BenchNamespace { Name = name, Path = path, Inode = inode };
        _alive.Add(ns);
        _ever.Add(ns);
        return ns;
    }

    private async Task PopulateAsync(BenchNamespace ns, int listeners, int connections)
    {
        await PlaceAsync(ns, listeners, connections, forceNewHolder: false);
        ns.ReadyNs = Clock.UnixNs();
    }

    private async Task PlaceAsync(BenchNamespace ns, int listeners, int connections, bool forceNewHolder)
    {
        int sockets = listeners + 2 * connections;
        if (sockets == 0) return;
        SocketHolderClient? holder = null;
        if (!forceNewHolder)
            foreach (var h in _holders)
                if (h.FdsReserved + sockets <= _holderFdBudget) { holder = h; break; }
        holder ??= StartHolder();
        holder.FdsReserved += sockets;
        if (!_placement.TryGetValue(ns.Path, out var list)) _placement[ns.Path] = list = new();
        list.Add((holder, sockets));
        string reply = await holder.Send($"add {ns.Path} {listeners} {connections}");
        if (!reply.StartsWith("ok ", StringComparison.Ordinal)) throw new IOException($"socket holder {holder.Index}: {reply}");
        int made = int.Parse(reply[(reply.LastIndexOf(' ') + 1)..]);
        lock (_placement)
        {
            ns.Sockets += made;
            SocketsAlive += made;
        }
    }

    private SocketHolderClient StartHolder()
    {
        var h = new SocketHolderClient(_holders.Count);
        _holders.Add(h);
        return h;
    }

    private void TearDown()
    {
        foreach (var h in _holders) h.Dispose();
        _holders.Clear();
        _placement.Clear();
        foreach (var ns in _alive) NetnsFactory.Delete(ns.Path);
        _alive.Clear();
        // Anything left by an interrupted run (a half-created file) goes too.
        if (Directory.Exists(WatchDir))
        {
            foreach (var f in Directory.GetFiles(WatchDir)) NetnsFactory.Delete(f);
            try { Directory.Delete(WatchDir); } catch (IOException) { }
        }
        try { if (Directory.Exists(Root) && Directory.GetFileSystemEntries(Root).Length == 0) Directory.Delete(Root); }
        catch (IOException) { }
        _factory.Dispose();
    }

    public void Dispose() => _cleanup.Dispose();
}
