using XtcpEpoll.Netlink.Native;
using XtcpEpoll.Netlink.Parsing;
using XtcpEpoll.Netlink.Requests;

namespace XtcpEpoll.Loop.Dumps;

/// <summary>Which keys a dump collects into <see cref="KnownSockets"/>.</summary>
[Flags]
internal enum KeyScope : byte
{
    None = 0,
    /// <summary>LISTEN sockets (found by the kernel in the host-wide listening hash).</summary>
    Listeners = 1,
    /// <summary>Every other socket an exact lookup can find (established table: connections, TIME_WAIT, SYN_RECV...).</summary>
    Connections = 2,
    All = Listeners | Connections,
}

/// <summary>
/// One namespace's sockets as its dumps found them, kept as lookup keys (the whole inet_diag_sockid, so the
/// kernel finds each again with one hash lookup instead of a table walk), and the lookup sets a poll sends
/// (lane thread only). Listeners and connections are kept apart: between walks a namespace whose table is
/// cheap to walk dumps its connections and looks up only its listeners; one that shares the host table looks
/// up both. A key whose lookup misses (ENOENT: closed, or its cookie now names another socket) is dropped at
/// once and forgotten at the next poll; a missed listener is remembered for the poll so a LISTEN walk can tell
/// a gone listener from one a lookup cannot reach (an SO_REUSEPORT member, BPF sk_lookup). Arrays grow to
/// the namespace's size and are kept (no allocation per poll in steady state).
/// </summary>
internal sealed class KnownSockets
{
    private SocketKey[] _listeners = new SocketKey[4];
    private SocketKey[] _connections = new SocketKey[8];
    private int _listenerCount, _connectionCount;
    private ulong[] _missedListeners = new ulong[4];
    private int _missedCount;
    private KeyScope _collecting;
    private bool _listenersUnreachable;

    public KnownSockets()
    {
        All = new View(this, KeyScope.All);
        Listeners = new View(this, KeyScope.Listeners);
        Connections = new View(this, KeyScope.Connections);
    }

    /// <summary>Every known socket: listeners first, then connections.</summary>
    public ILookupSet All { get; }
    public ILookupSet Listeners { get; }
    public ILookupSet Connections { get; }

    public int ListenerCount => _listenerCount;
    public int ConnectionCount => _connectionCount;

    /// <summary>A lookup of a listener missed in this poll (a LISTEN walk follows).</summary>
    public bool AnyListenerMissed => _missedCount > 0;

    /// <summary>
    /// A listener exists that its lookup cannot find (a LISTEN walk found a listener whose lookup had missed):
    /// listeners are walked at every poll until the next full walk.
    /// </summary>
    public bool ListenersUnreachable => _listenersUnreachable;

    /// <summary>A new poll: forgets the keys dropped in the last one and its missed listeners.</summary>
    public void StartPoll()
    {
        _listenerCount = Compact(_listeners, _listenerCount);
        _connectionCount = Compact(_connections, _connectionCount);
        _missedCount = 0;
    }

    /// <summary>A dump begins that will report every socket of <paramref name="scope"/>: those keys are rebuilt from it.</summary>
    public void BeginCollect(KeyScope scope)
    {
        _collecting = scope;
        if ((scope & KeyScope.Listeners) != 0) _listenerCount = 0;
        if ((scope & KeyScope.Connections) != 0) _connectionCount = 0;
        if (scope == KeyScope.All) _listenersUnreachable = false; // a full walk starts a fresh interval
    }

    /// <summary>Keeps the keys of one datagram of the running dump (header-only scan).</summary>
    public void Collect(ReadOnlySpan<byte> datagram)
    {
        int offset = 0;
        while (SockDiagReader.NextKey(datagram, ref offset, out var key))
        {
            // A bound-but-inactive socket (reported in state CLOSE) lives in no table a lookup searches.
            if (key.State == TcpState.Close || key.Cookie == 0) continue;
            if (key.State == TcpState.Listen)
            {
                if ((_collecting & KeyScope.Listeners) != 0) Append(ref _listeners, ref _listenerCount, in key);
            }
            else if ((_collecting & KeyScope.Connections) != 0) Append(ref _connections, ref _connectionCount, in key);
        }
    }

    /// <summary>
    /// The dump completed. After a LISTEN walk that followed missed lookups, a missed listener that the walk
    /// still finds is one a lookup cannot reach.
    /// </summary>
    public void EndCollect()
    {
        if (_collecting == KeyScope.Listeners && _missedCount > 0)
            for (int i = 0; i < _listenerCount && !_listenersUnreachable; i++)
                _listenersUnreachable = Array.IndexOf(_missedListeners, _listeners[i].Cookie, 0, _missedCount) >= 0;
        _collecting = KeyScope.None;
    }

    /// <summary>The dump did not complete: the keys of its scope are partial (the schedule walks again).</summary>
    public void AbortCollect() => _collecting = KeyScope.None;

    private ref SocketKey KeyOf(KeyScope scope, int index)
    {
        if (scope == KeyScope.Connections) return ref _connections[index];
        if (scope == KeyScope.All && index >= _listenerCount) return ref _connections[index - _listenerCount];
        return ref _listeners[index];
    }

    private int CountOf(KeyScope scope) => scope switch
    {
        KeyScope.Listeners => _listenerCount,
        KeyScope.Connections => _connectionCount,
        _ => _listenerCount + _connectionCount,
    };

    private void Missed(KeyScope scope, int index)
    {
        if ((uint)index >= (uint)CountOf(scope)) return;
        ref var key = ref KeyOf(scope, index);
        if (key.Cookie == 0) return;
        if (key.State == TcpState.Listen)
        {
            if (_missedCount == _missedListeners.Length) Array.Resize(ref _missedListeners, _missedCount * 2);
            _missedListeners[_missedCount++] = key.Cookie;
        }
        key.Cookie = 0; // dropped: skipped from the next poll on (indexes stay stable within this one)
    }

    private static void Append(ref SocketKey[] keys, ref int count, in SocketKey key)
    {
        if (count == keys.Length) Array.Resize(ref keys, count * 2);
        keys[count++] = key;
    }

    private static int Compact(SocketKey[] keys, int count)
    {
        int kept = 0;
        for (int i = 0; i < count; i++)
            if (keys[i].Cookie != 0)
            {
                if (kept != i) keys[kept] = keys[i];
                kept++;
            }
        return kept;
    }

    /// <summary>A lookup set over some of the keys (made once per namespace).</summary>
    private sealed class View(KnownSockets owner, KeyScope scope) : ILookupSet
    {
        public int Count => owner.CountOf(scope);
        public ref readonly SocketKey Key(int index) => ref owner.KeyOf(scope, index);
        public void Missed(int index) => owner.Missed(scope, index);
    }
}
