using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace XtcpEpoll.Loop.Changes;

/// <summary>
/// The per-socket state a parse worker keeps for one namespace, by socket cookie: the one open-addressing
/// (linear probing) design that <see cref="FingerprintTable"/> (--emit changed) and
/// <see cref="Parsing.DestroyOwners"/> (owners for destroy records) share, each with its own slot. An entry is
/// the 8-byte cookie, the slot and the table-local number of the poll that last reported the socket, in one
/// array kept at most 3/4 full. Nothing is allocated per socket or per poll: the array grows with the
/// namespace (and shrinks after it stayed 8x too big for <see cref="ShrinkAfterPolls"/> polls). At each
/// <see cref="EndPoll"/> the entries the last <c>1 + gracePolls</c> polls did not report are evicted in
/// place (backward-shift deletion: no tombstones), so memory follows the live sockets; there is no cap and
/// nothing is ever cleared wholesale. One thread only (the namespace's parse worker).
/// </summary>
/// <typeparam name="TSlot">What a socket carries; keep it small (it is paid for every live socket).</typeparam>
public abstract class SocketTable<TSlot>
{
    private struct Entry
    {
        public ulong Cookie; // 0 = empty (the kernel's cookies start at 1)
        public TSlot Slot;
        public uint Seen;    // table-local poll that last reported the socket
    }

    private const int MinCapacity = 16;
    /// <summary>Consecutive polls a table must be 8x oversized before it shrinks.</summary>
    public const int ShrinkAfterPolls = 16;
    private readonly uint _gracePolls;
    private Entry[] _entries;
    private int _count;
    private uint _poll;
    private int _oversizedPolls;

    /// <param name="gracePolls">Polls an entry outlives the last poll that reported it (0: evicted by the first poll that misses it).</param>
    /// <param name="initialCapacity">Entries to make room for now; 0 = no array until the first socket.</param>
    protected SocketTable(int gracePolls, int initialCapacity)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(gracePolls);
        _gracePolls = (uint)gracePolls;
        _entries = initialCapacity == 0 ? [] : new Entry[SizeFor(initialCapacity)];
    }

    /// <summary>Sockets held (those the last polls reported, plus the running poll's new ones).</summary>
    public int Count => _count;

    /// <summary>Table size in entries (<see cref="EntryBytes"/> each).</summary>
    public int Capacity => _entries.Length;

    /// <summary>Bytes of one entry (cookie, slot, poll number, padding): what each slot of <see cref="Capacity"/> costs.</summary>
    public static int EntryBytes => Unsafe.SizeOf<Entry>();

    /// <summary>A poll's dump of this namespace begins.</summary>
    protected void BeginTablePoll() => _poll++;

    /// <summary>
    /// The running poll reports the socket (<paramref name="cookie"/> not 0; <paramref name="mixed"/> its
    /// <see cref="SocketFingerprint.MixCookie"/>): its slot, marked seen. <paramref name="known"/> is false
    /// when the socket was added now, or when the poll before this one did not report it (a socket of the
    /// grace window seen again): the slot is then default, for the caller to fill.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] // the per-socket path: a probe of a known socket, inlined
    protected ref TSlot Report(ulong cookie, ulong mixed, out bool known)
    {
        var entries = _entries;
        if (entries.Length != 0)
        {
            // The mask keeps every index in the array: no bounds checks on the probe.
            ref var first = ref MemoryMarshal.GetArrayDataReference(entries);
            int mask = entries.Length - 1;
            for (int i = (int)mixed & mask; ; i = (i + 1) & mask)
            {
                ref var e = ref Unsafe.Add(ref first, i);
                if (e.Cookie == cookie)
                {
                    known = _poll - e.Seen <= 1;
                    e.Seen = _poll;
                    if (!known) e.Slot = default!;
                    return ref e.Slot;
                }
                if (e.Cookie == 0) break;
            }
        }
        known = false;
        return ref Add(cookie, mixed);
    }

    /// <summary>A socket not held: its entry (made room for first, so the reference returned stays in the live array).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private ref TSlot Add(ulong cookie, ulong mixed)
    {
        if (_entries.Length == 0) _entries = new Entry[MinCapacity];
        else if ((_count + 1) * 4 > _entries.Length * 3) Rehash(new Entry[_entries.Length * 2]);
        int mask = _entries.Length - 1;
        int i = (int)mixed & mask;
        while (_entries[i].Cookie != 0) i = (i + 1) & mask;
        ref var added = ref _entries[i];
        added.Cookie = cookie;
        added.Seen = _poll;
        _count++;
        return ref added.Slot;
    }

    /// <summary>The socket's slot, or a null reference (<see cref="Unsafe.IsNullRef{T}(ref readonly T)"/>) when it is not held.</summary>
    protected ref TSlot Find(ulong cookie)
    {
        if (_count == 0 || cookie == 0) return ref Unsafe.NullRef<TSlot>();
        int mask = _entries.Length - 1;
        for (int i = (int)SocketFingerprint.MixCookie(cookie) & mask; ; i = (i + 1) & mask)
        {
            ref var e = ref _entries[i];
            if (e.Cookie == cookie) return ref e.Slot;
            if (e.Cookie == 0) return ref Unsafe.NullRef<TSlot>();
        }
    }

    /// <summary>Forgets the socket now (its end is known); false when it was not held.</summary>
    protected bool Remove(ulong cookie, out TSlot slot)
    {
        slot = default!;
        if (_count == 0 || cookie == 0) return false;
        int mask = _entries.Length - 1;
        for (int i = (int)SocketFingerprint.MixCookie(cookie) & mask; ; i = (i + 1) & mask)
        {
            ref var e = ref _entries[i];
            if (e.Cookie == 0) return false;
            if (e.Cookie != cookie) continue;
            slot = e.Slot;
            DeleteAt(i, mask);
            _count--;
            return true;
        }
    }

    /// <summary>
    /// The dump of the poll ended: every socket the last <c>1 + gracePolls</c> polls did not report is
    /// forgotten, in place. A table that stays 8x too big is reallocated smaller.
    /// </summary>
    public void EndPoll()
    {
        if (_count > 0) EvictUnreported();
        _oversizedPolls = _count * 8 < _entries.Length && _entries.Length > MinCapacity ? _oversizedPolls + 1 : 0;
        if (_oversizedPolls < ShrinkAfterPolls) return;
        // The namespace stayed small for a while: give the memory back (rare; the only other allocation is
        // growth). Not at once: a dump cut short, or a namespace whose size swings, would shrink and regrow.
        _oversizedPolls = 0;
        Rehash(new Entry[SizeFor(_count * 2)]);
    }

    private static int SizeFor(int entries) => (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(entries, MinCapacity));

    /// <summary>
    /// Deletes the entries no poll of the window reported. The scan starts just after an empty slot and goes
    /// once round, so no cluster wraps past its start: a backward shift only moves entries not yet visited into
    /// the hole being examined (which is then examined again).
    /// </summary>
    private void EvictUnreported()
    {
        var entries = _entries;
        int mask = entries.Length - 1;
        int start = 0;
        while (entries[start].Cookie != 0) start++; // there is one: the table is at most 3/4 full
        for (int step = 1, i = (start + 1) & mask; step <= entries.Length; )
        {
            ref var e = ref entries[i];
            if (e.Cookie != 0 && _poll - e.Seen > _gracePolls) // poll numbers wrap: compare by difference
            {
                DeleteAt(i, mask);
                _count--;
                continue; // the slot now holds a shifted entry (or is empty): look again
            }
            step++;
            i = (i + 1) & mask;
        }
    }

    /// <summary>Backward-shift deletion for linear probing: later entries of the cluster that may move into the hole do.</summary>
    private void DeleteAt(int hole, int mask)
    {
        var entries = _entries;
        int j = hole;
        while (true)
        {
            j = (j + 1) & mask;
            if (entries[j].Cookie == 0) break;
            int home = (int)SocketFingerprint.MixCookie(entries[j].Cookie) & mask;
            // The entry at j stays when its home lies cyclically in (hole, j]; else it moves back into the hole.
            bool stays = hole <= j ? hole < home && home <= j : hole < home || home <= j;
            if (stays) continue;
            entries[hole] = entries[j];
            hole = j;
        }
        entries[hole] = default; // also drops a slot's references
    }

    /// <summary>Moves the entries into <paramref name="target"/> (empty; a power of two), which becomes the table.</summary>
    private void Rehash(Entry[] target)
    {
        int mask = target.Length - 1, count = 0;
        foreach (ref readonly var e in _entries.AsSpan())
        {
            if (e.Cookie == 0) continue;
            int i = (int)SocketFingerprint.MixCookie(e.Cookie) & mask;
            while (target[i].Cookie != 0) i = (i + 1) & mask;
            target[i] = e;
            count++;
        }
        _entries = target;
        _count = count;
    }
}
