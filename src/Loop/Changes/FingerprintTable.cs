using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

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

/// <summary>What <see cref="FingerprintTable"/> keeps per socket (12 bytes, packed so an entry is 24).</summary>
[StructLayout(LayoutKind.Sequential, Pack = 4)]
public struct FingerprintSlot
{
    public ulong Fingerprint;  // of the last emitted record
    public uint NextKeyframe;  // first poll at which an unchanged socket is emitted again
}

/// <summary>
/// One namespace's known sockets under <c>--emit changed</c>: per socket cookie, the fingerprint of the last
/// emitted record (8 bytes) and the poll its next keyframe is due (4), in a <see cref="SocketTable{TSlot}"/>
/// (24-byte entries kept at most 3/4 full: 32-64 bytes per live socket). Entries not reported by a poll's
/// dump are evicted at its end (<see cref="SocketTable{TSlot}.EndPoll"/>, no grace), so memory follows the
/// live sockets. One thread only (the namespace's parse worker).
/// </summary>
public sealed class FingerprintTable(KeyframeSchedule schedule, int initialCapacity = 16)
    : SocketTable<FingerprintSlot>(gracePolls: 0, Math.Max(initialCapacity, 1))
{
    private uint _poll;

    /// <summary>A poll's dump of this namespace begins (<paramref name="poll"/>: the daemon's poll number, which only grows).</summary>
    public void BeginPoll(uint poll)
    {
        _poll = poll;
        BeginTablePoll();
    }

    /// <summary>Decides whether the socket's record of this poll is emitted, and remembers what was.</summary>
    public ChangeVerdict Classify(ulong cookie, ulong fingerprint)
    {
        if (cookie == 0) return ChangeVerdict.FirstSight; // no key to remember it by: always emitted
        ulong mixed = SocketFingerprint.MixCookie(cookie);
        ref var slot = ref Report(cookie, mixed, out bool known);
        if (!known)
        {
            slot.Fingerprint = fingerprint;
            slot.NextKeyframe = schedule.NextKeyframe(mixed, _poll);
            return ChangeVerdict.FirstSight;
        }
        if (slot.Fingerprint != fingerprint)
        {
            slot.Fingerprint = fingerprint;
            slot.NextKeyframe = schedule.NextKeyframe(mixed, _poll);
            return ChangeVerdict.Changed;
        }
        if ((int)(_poll - slot.NextKeyframe) >= 0) // poll numbers wrap: compare by difference
        {
            slot.NextKeyframe = schedule.NextKeyframe(mixed, _poll);
            return ChangeVerdict.Keyframe;
        }
        return ChangeVerdict.Unchanged;
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
