using XtcpEpoll.Loop.Changes;
using Xunit;

namespace XtcpEpoll.Tests.Loop.Changes;

/// <summary>The per-namespace fingerprint table: verdicts, keyframe spacing and stagger, eviction, memory.</summary>
public class FingerprintTableTests
{
    private const int K = 6;

    [Fact]
    public void An_idle_socket_is_emitted_at_first_sight_then_only_at_its_keyframes_at_most_K_polls_apart()
    {
        var table = new FingerprintTable(new KeyframeSchedule(K));
        var emitted = new List<uint>();
        for (uint poll = 1; poll <= 10 * K; poll++)
        {
            table.BeginPoll(poll);
            var verdict = table.Classify(cookie: 42, fingerprint: 7);
            if (poll == 1) Assert.Equal(ChangeVerdict.FirstSight, verdict);
            else Assert.True(verdict is ChangeVerdict.Unchanged or ChangeVerdict.Keyframe, $"poll {poll}: {verdict}");
            if (verdict != ChangeVerdict.Unchanged) emitted.Add(poll);
            table.EndPoll();
        }
        Assert.InRange(emitted.Count, 10, 11);
        for (int i = 1; i < emitted.Count; i++)
        {
            uint gap = emitted[i] - emitted[i - 1];
            // After the first keyframe the socket keeps its phase: exactly K apart.
            if (i > 1) Assert.Equal((uint)K, gap);
            else Assert.InRange(gap, 1u, (uint)K);
        }
    }

    [Fact]
    public void A_changing_socket_is_emitted_every_poll_and_an_unchanged_one_is_not()
    {
        var table = new FingerprintTable(new KeyframeSchedule(1000));
        table.BeginPoll(1);
        Assert.Equal(ChangeVerdict.FirstSight, table.Classify(1, 100));
        Assert.Equal(ChangeVerdict.FirstSight, table.Classify(2, 200));
        table.EndPoll();
        for (uint poll = 2; poll < 20; poll++)
        {
            table.BeginPoll(poll);
            Assert.Equal(ChangeVerdict.Changed, table.Classify(1, 100 + poll));
            Assert.Equal(ChangeVerdict.Unchanged, table.Classify(2, 200));
            table.EndPoll();
        }
    }

    [Fact]
    public void Keyframes_of_idle_sockets_are_spread_evenly_over_the_polls()
    {
        const int sockets = 12_000, k = 60;
        var table = new FingerprintTable(new KeyframeSchedule(k));
        table.BeginPoll(1);
        for (ulong c = 1; c <= sockets; c++) table.Classify(c * 7919, 5);
        table.EndPoll();
        for (uint poll = 2; poll < 2 + 2 * k; poll++)
        {
            table.BeginPoll(poll);
            int emitted = 0;
            for (ulong c = 1; c <= sockets; c++)
                if (table.Classify(c * 7919, 5) != ChangeVerdict.Unchanged) emitted++;
            table.EndPoll();
            // sockets/k = 200 expected per poll; a spike every k-th poll would show as 12,000 here.
            Assert.InRange(emitted, 130, 270);
        }
    }

    [Fact]
    public void A_socket_missing_from_a_poll_is_forgotten_and_comes_back_as_first_sight()
    {
        var table = new FingerprintTable(new KeyframeSchedule(K));
        table.BeginPoll(1);
        for (ulong c = 1; c <= 100; c++) table.Classify(c, c);
        table.EndPoll();
        Assert.Equal(100, table.Count);

        table.BeginPoll(2);
        for (ulong c = 1; c <= 100; c += 2) table.Classify(c, c); // the even cookies closed
        table.EndPoll();
        Assert.Equal(50, table.Count);

        table.BeginPoll(3);
        for (ulong c = 1; c <= 100; c++)
        {
            var verdict = table.Classify(c, c);
            Assert.True(verdict == (c % 2 == 0 ? ChangeVerdict.FirstSight : ChangeVerdict.Unchanged) || (c % 2 == 1 && verdict == ChangeVerdict.Keyframe),
                $"cookie {c}: {verdict}");
        }
        table.EndPoll();
        Assert.Equal(100, table.Count);
    }

    [Fact]
    public void Growth_in_the_middle_of_a_poll_keeps_every_socket_and_memory_follows_the_live_ones()
    {
        var table = new FingerprintTable(new KeyframeSchedule(1000));
        table.BeginPoll(1);
        for (ulong c = 1; c <= 50_000; c++) Assert.Equal(ChangeVerdict.FirstSight, table.Classify(c, c));
        table.EndPoll();
        Assert.Equal(50_000, table.Count);
        Assert.True(table.Capacity <= 4 * 50_000 * 2, $"capacity {table.Capacity}");

        table.BeginPoll(2);
        int keyframes = 0;
        for (ulong c = 1; c <= 50_000; c++)
        {
            var verdict = table.Classify(c, c);
            Assert.True(verdict is ChangeVerdict.Unchanged or ChangeVerdict.Keyframe, $"cookie {c}: {verdict}");
            if (verdict == ChangeVerdict.Keyframe) keyframes++;
        }
        table.EndPoll();
        Assert.InRange(keyframes, 1, 150); // ~50,000/1000 whose slot turned between polls 1 and 2

        int large = table.Capacity;
        for (uint poll = 3; poll < 3 + FingerprintTable.ShrinkAfterPolls; poll++)
        {
            table.BeginPoll(poll);
            for (ulong c = 1; c <= 100; c++) table.Classify(c, c);
            table.EndPoll();
            Assert.Equal(100, table.Count);
            if (poll < 2 + FingerprintTable.ShrinkAfterPolls) Assert.Equal(large, table.Capacity); // not on one small poll
        }
        Assert.True(table.Capacity <= 512, $"capacity {table.Capacity} after {FingerprintTable.ShrinkAfterPolls} polls of 100 sockets");
    }

    [Fact]
    public void A_steady_poll_allocates_nothing()
    {
        var table = new FingerprintTable(new KeyframeSchedule(K));
        void Poll(uint poll, ulong churn)
        {
            table.BeginPoll(poll);
            for (ulong c = 1; c <= 2000; c++) table.Classify(c + churn, c ^ poll);
            table.EndPoll();
        }
        for (uint p = 1; p < 5; p++) Poll(p, p); // warm: the arrays reach their size
        // One socket closes and one opens per poll (evictions). A per-poll allocation shows in every round; the
        // runtime's one-off tier-up work on this thread does not repeat: one round of 0 B proves it (at most 5).
        var rounds = new List<long>();
        uint next = 5;
        for (int round = 0; round < 5 && (rounds.Count == 0 || rounds[^1] != 0); round++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 45; i++, next++) Poll(next, next);
            rounds.Add(GC.GetAllocatedBytesForCurrentThread() - before);
        }
        Assert.True(rounds[^1] == 0, $"bytes allocated per round of 45 polls: {string.Join(", ", rounds)}");
    }

    [Fact]
    public void Under_random_churn_the_table_agrees_with_a_dictionary_at_every_socket_of_every_poll()
    {
        // In-place eviction (backward shift) must never lose or duplicate a live entry: cookies drawn from a small
        // range collide in the hash clusters, sockets come and go at random, fingerprints change at random.
        var random = new Random(24);
        var table = new FingerprintTable(new KeyframeSchedule(1_000_000));
        var model = new Dictionary<ulong, ulong>();
        for (uint poll = 1; poll <= 300; poll++)
        {
            table.BeginPoll(poll);
            var reported = new Dictionary<ulong, ulong>();
            int sockets = random.Next(0, 400);
            for (int i = 0; i < sockets; i++)
            {
                ulong cookie = (ulong)random.Next(1, 600);
                if (reported.ContainsKey(cookie)) continue; // the decoder dedupes cookies per dump
                ulong fingerprint = model.TryGetValue(cookie, out var last) && random.Next(4) > 0 ? last : (ulong)random.NextInt64();
                var expected = !model.TryGetValue(cookie, out last) ? ChangeVerdict.FirstSight
                    : last != fingerprint ? ChangeVerdict.Changed : ChangeVerdict.Unchanged;
                var verdict = table.Classify(cookie, fingerprint);
                if (!(verdict == expected || (expected == ChangeVerdict.Unchanged && verdict == ChangeVerdict.Keyframe)))
                    Assert.Fail($"poll {poll} cookie {cookie}: {verdict}, expected {expected}");
                reported[cookie] = fingerprint;
            }
            table.EndPoll();
            model = reported;
            Assert.Equal(model.Count, table.Count);
        }
    }

    [Fact]
    public void Keyframe_interval_is_rounded_up_to_whole_polls()
    {
        Assert.Equal(60, KeyframeSchedule.PollsFor(TimeSpan.FromMinutes(10), TimeSpan.FromSeconds(10)));
        Assert.Equal(4, KeyframeSchedule.PollsFor(TimeSpan.FromSeconds(35), TimeSpan.FromSeconds(10)));
        Assert.Equal(1, KeyframeSchedule.PollsFor(TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(10)));
    }
}
