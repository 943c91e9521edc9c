using XtcpEpoll.Loop.Changes;
using XtcpEpoll.Loop.Parsing;
using XtcpEpoll.Sinks.Records;
using Xunit;

namespace XtcpEpoll.Tests.Loop;

/// <summary>
/// A namespace's owners for destroy records (a host-network container's sockets in the host namespace): no cap,
/// an entry lives until its event or one poll after the last poll that reported it, nothing allocated per poll.
/// </summary>
public sealed class DestroyOwnersTests
{
    private static readonly RecordAttribution A = RecordAttribution.Create(new string('a', 64), "containerd", "");
    private static readonly RecordAttribution B = RecordAttribution.Create(new string('b', 64), "podman", "");

    private static void Poll(DestroyOwners owners, ulong first, ulong count, RecordAttribution owner)
    {
        owners.BeginPoll();
        for (ulong c = first; c < first + count; c++) owners.Remember(c, owner);
        owners.EndPoll();
    }

    [Fact]
    public void Forty_thousand_owned_sockets_each_get_their_owner_at_their_destroy_event()
    {
        // The old per-worker dictionary cleared itself above 16,384 entries, every poll: destroy records then lost their owner.
        var owners = new DestroyOwners();
        Poll(owners, 1, 40_000, A);
        Poll(owners, 1, 40_000, A);
        Assert.Equal(40_000, owners.Count);
        for (ulong c = 1; c <= 40_000; c++)
            if (!ReferenceEquals(A, owners.Take(c))) Assert.Fail($"socket {c} lost its owner");
        Assert.Equal(0, owners.Count);
        Assert.Null(owners.Take(1)); // each socket's end comes once: taken means forgotten
    }

    [Fact]
    public void A_socket_missed_by_one_poll_keeps_its_owner_and_is_forgotten_at_the_end_of_the_second()
    {
        // The first poll after a close can miss the socket before its destroy event reaches the worker (see DestroyOwners).
        var owners = new DestroyOwners();
        Poll(owners, 1, 10, A);        // sockets 1..10
        Poll(owners, 1, 5, A);         // 6..10 closed: missed once, kept
        Assert.Equal(10, owners.Count);
        Assert.Same(A, owners.Take(7)); // its event arrives after the poll that missed it
        Poll(owners, 1, 5, A);         // missed twice: gone
        Assert.Equal(5, owners.Count);
        Assert.Null(owners.Take(8));
        Assert.Same(A, owners.Take(3));
    }

    [Fact]
    public void Memory_follows_the_live_sockets_under_churn()
    {
        var owners = new DestroyOwners();
        for (ulong poll = 0; poll < 200; poll++)
            Poll(owners, 1 + poll * 100, 20_000, A); // 100 sockets close and 100 open per poll, no events
        Assert.Equal(20_000 + 100, owners.Count); // the live ones and the last poll's closed ones
        Assert.True(owners.Capacity <= 32_768 * 2, $"capacity {owners.Capacity}");

        for (int poll = 0; poll < DestroyOwners.ShrinkAfterPolls + 2; poll++) Poll(owners, 1_000_000, 10, A);
        Assert.Equal(10, owners.Count);
        Assert.True(owners.Capacity <= 64, $"capacity {owners.Capacity} after the namespace shrank to 10 sockets");
    }

    [Fact]
    public void A_changed_owner_replaces_the_old_one()
    {
        var owners = new DestroyOwners();
        Poll(owners, 1, 3, A);
        Poll(owners, 2, 1, B); // socket 2's cgroup now names another container (ids are never reused: a test of the write)
        Assert.Same(A, owners.Take(1));
        Assert.Same(B, owners.Take(2));
    }

    [Fact]
    public void Polls_and_events_of_a_warm_table_allocate_nothing()
    {
        var owners = new DestroyOwners();
        ulong next = 1;
        void Round()
        {
            // 20,000 live sockets; per poll 50 close with an event, 50 close without one, 100 open.
            Poll(owners, next, 20_000, A);
            for (ulong c = next; c < next + 50; c++) owners.Take(c);
            next += 100;
        }
        for (int i = 0; i < 5; i++) Round(); // warm: the array reaches its size
        // A per-poll allocation shows in every round; the runtime's one-off tier-up work does not repeat.
        var rounds = new List<long>();
        for (int round = 0; round < 5 && (rounds.Count == 0 || rounds[^1] != 0); round++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 20; i++) Round();
            rounds.Add(GC.GetAllocatedBytesForCurrentThread() - before);
        }
        Assert.True(rounds[^1] == 0, $"bytes allocated per round of 20 polls: {string.Join(", ", rounds)}");
    }

    [Fact]
    public void No_array_until_a_socket_needs_an_entry_and_entries_are_24_bytes()
    {
        var owners = new DestroyOwners();
        owners.BeginPoll();
        owners.EndPoll();
        Assert.Equal(0, owners.Capacity); // a namespace of no owned socket pays for the object only
        Assert.Null(owners.Take(5));
        // The per-socket cost both tables pay (80,000+ sockets per host): cookie, slot and poll number.
        Assert.Equal(24, DestroyOwners.EntryBytes);
        Assert.Equal(24, FingerprintTable.EntryBytes);
    }

    [Fact]
    public void Under_random_churn_and_events_the_table_agrees_with_a_model_at_every_poll()
    {
        // Backward-shift eviction and removal by event must never lose or keep a wrong entry: cookies from a small
        // range collide in the hash clusters; sockets come and go, some with an event, some without.
        var random = new Random(25);
        var owners = new DestroyOwners();
        var lastSeen = new Dictionary<ulong, int>(); // cookie → the poll that last reported it (model)
        for (int poll = 1; poll <= 300; poll++)
        {
            owners.BeginPoll();
            int sockets = random.Next(0, 400);
            for (int i = 0; i < sockets; i++)
            {
                ulong cookie = (ulong)random.Next(1, 700);
                owners.Remember(cookie, A);
                lastSeen[cookie] = poll;
            }
            for (int i = random.Next(0, 40); i > 0; i--)
            {
                ulong cookie = (ulong)random.Next(1, 700);
                bool held = lastSeen.Remove(cookie);
                Assert.Equal(held ? A : null, owners.Take(cookie));
            }
            owners.EndPoll();
            foreach (var cookie in lastSeen.Where(e => e.Value < poll - 1).Select(e => e.Key).ToList()) lastSeen.Remove(cookie);
            Assert.Equal(lastSeen.Count, owners.Count);
        }
    }
}
