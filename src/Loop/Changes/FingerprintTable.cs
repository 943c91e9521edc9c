using System.Runtime.CompilerServices;

namespace XtcpEpoll.Loop.Changes;

/// <summary>What <see cref="FingerprintTable.Classify"/> decided for one socket in one poll.</summary>
public enum ChangeVerdict : byte
{
    /// <summary>Nothing counted changed and its keyframe is not due: not emitted.</summary>
    Unchanged,
    /// <summary>Not in the table: never seen, or not reported by the namespace's last dump.</summary>
    FirstSight,
    /// <summary>A counted field differs from the last emitted record.</summary>
    Changed,
    /// <summary>Unchanged, but its keyframe slot came around since it was last emitted.</summary>
    Keyframe,
}

/// <summary>
/// One namespace's known sockets under <c>--emit changed</c>: per socket cookie, the fingerprint of the last
/// emitted record (8 bytes), the poll its next keyframe is due and the poll that last reported it (4 + 4):
/// 16 bytes of state per socket plus its 8-byte key, in one open-addressing (linear probing) array kept at most
/// 3/4 full: 32-64 bytes per live socket. Nothing is allocated per socket or per poll: the array grows with the
/// namespace and is kept. Entries not reported by a poll's dump are evicted in place at its end
/// (<see cref="EndPoll"/>, backward-shift deletion: no tombstones), so memory follows the live sockets.
/// One thread only (the namespace's parse worker).
/// </summary>
public sealed class FingerprintTable
{
    private struct Entry
    {
        public ulong Cookie;      // 0 = empty (the kernel's cookies start at 1)
        public ulong Fingerprint;
        public uint NextKeyframe; // first poll at which an unchanged socket is emitted again
        public uint SeenPoll;     // poll that last reported the socket
    }

    private const int MinCapacity = 16;
    /// <summary>Consecutive polls a table must be 8x oversized before it shrinks.</summary>
    public const int ShrinkAfterPolls = 16;
    private int _oversizedPolls;
    private Entry[] _entries;
    private int _count;
    private uint _poll;
    private readonly KeyframeSchedule _schedule;

    public FingerprintTable(KeyframeSchedule schedule, int initialCapacity = 16)
    {
        _schedule = schedule;
        int capacity = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(initialCapacity, MinCapacity));
        _entries = new Entry[capacity];
    }

    /// <summary>Sockets known (those the last poll reported, plus the running poll's new ones).</summary>
    public int Count => _count;

    /// <summary>Table size in entries (24 bytes each).</summary>
    public int Capacity => _entries.Length;

    /// <summary>A poll's dump of this namespace begins (<paramref name="poll"/>: the daemon's poll number, which only grows).</summary>
    public void BeginPoll(uint poll) => _poll = poll;

    /// <summary>Decides whether the socket's record of this poll is emitted, and remembers what was.</summary>
    public ChangeVerdict Classify(ulong cookie, ulong fingerprint)
    {
        if (cookie == 0) return ChangeVerdict.FirstSight; // no key to remember it by: always emitted
        ulong mixed = SocketFingerprint.MixCookie(cookie);
        int mask = _entries.Length - 1;
        int i = (int)mixed & mask;
        while (true)
        {
            ref var e = ref _entries[i];
            if (e.Cookie == cookie)
            {
                e.SeenPoll = _poll;
                if (e.Fingerprint != fingerprint)
                {
                    e.Fingerprint = fingerprint;
                    e.NextKeyframe = _schedule.NextKeyframe(mixed, _poll);
                    return ChangeVerdict.Changed;
                }
                if ((int)(_poll - e.NextKeyframe) >= 0) // poll numbers wrap: compare by difference
                {
                    e.NextKeyframe = _schedule.NextKeyframe(mixed, _poll);
                    return ChangeVerdict.Keyframe;
                }
                return ChangeVerdict.Unchanged;
            }
            if (e.Cookie == 0)
            {
                e = new Entry { Cookie = cookie, Fingerprint = fingerprint, NextKeyframe = _schedule.NextKeyframe(mixed, _poll), SeenPoll = _poll };
                if (++_count * 4 > _entries.Length * 3) Rehash(new Entry[_entries.Length * 2]);
                return ChangeVerdict.FirstSight;
            }
            i = (i + 1) & mask;
        }
    }

    /// <summary>
    /// The dump of the poll ended: every socket it did not report is forgotten (closed, or missed: it will be
    /// emitted as first sight if seen again), in place. A table that stays 8x too big is reallocated smaller.
    /// </summary>
    public void EndPoll()
    {
        EvictUnreported();
        _oversizedPolls = _count * 8 < _entries.Length && _entries.Length > MinCapacity ? _oversizedPolls + 1 : 0;
        if (_oversizedPolls < ShrinkAfterPolls) return;
        // The namespace stayed small for a while: give the memory back (rare; the only other allocation is
        // growth). Not at once: a dump cut short, or a namespace whose size swings, would shrink and regrow.
        _oversizedPolls = 0;
        Rehash(new Entry[Math.Max(MinCapacity, (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)_count * 2))]);
    }

    /// <summary>
    /// Deletes the entries the running poll did not report. The scan starts just after an empty slot and goes
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
            if (e.Cookie != 0 && e.SeenPoll != _poll)
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
        entries[hole] = default;
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

/// <summary>
/// When each socket's keyframe falls: every <see cref="IntervalPolls"/> polls, at a phase given by a hash of
/// its cookie, so each poll carries about 1/K of the idle sockets instead of all of them every K-th poll.
/// A socket's keyframe polls are those with (p + phase) mod K = 0; after any record of it is sent at poll p the
/// next is due at the first such poll after p, so no two records of an unchanged socket are more than K
/// polls apart. Only sent records compute it (a division-free modulo): an unchanged socket costs a compare.
/// </summary>
public sealed class KeyframeSchedule
{
    public KeyframeSchedule(int intervalPolls)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(intervalPolls, 1);
        IntervalPolls = intervalPolls;
        _fastModMultiplier = ulong.MaxValue / (uint)intervalPolls + 1;
    }

    /// <summary>K: polls between two keyframes of one socket.</summary>
    public int IntervalPolls { get; }

    /// <summary>K from the option values: the keyframe interval in whole polls, at least 1.</summary>
    public static int PollsFor(TimeSpan keyframeInterval, TimeSpan frequency)
        => (int)Math.Clamp(Math.Ceiling(keyframeInterval.Ticks / (double)frequency.Ticks), 1, int.MaxValue);

    /// <summary>The first keyframe poll after <paramref name="poll"/> of the socket whose mixed cookie is <paramref name="mixedCookie"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public uint NextKeyframe(ulong mixedCookie, uint poll)
    {
        uint k = (uint)IntervalPolls;
        uint phase = (uint)(((mixedCookie >> 32) * k) >> 32); // uniform in [0, K), no division
        return poll + k - FastMod(poll + phase, k);
    }

    // Lemire's division-free modulo for a divisor fixed at construction (as .NET's Dictionary does).
    private readonly ulong _fastModMultiplier;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private uint FastMod(uint value, uint divisor) => (uint)(((((_fastModMultiplier * value) >> 32) + 1) * divisor) >> 32);
}
