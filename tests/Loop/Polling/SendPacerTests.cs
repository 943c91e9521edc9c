using XtcpEpoll.Loop.Polling;
using Xunit;

namespace XtcpEpoll.Tests.Loop.Polling;

/// <summary>The lane's send turns without a lane (no root): the in-flight cap, and --spread's one turn per interval.</summary>
public sealed class SendPacerTests
{
    [Fact]
    public void All_at_once_gives_turns_in_plan_order_until_the_in_flight_cap_is_reached()
    {
        var pacer = new SendPacer();
        pacer.StartPoll(targets: 40, sendInterval: 0, now: 0);
        var turns = TakeTurns(pacer, now: 0, acquire: true);

        Assert.Equal(Enumerable.Range(0, SendPacer.MaxInFlight), turns);
        Assert.False(pacer.HasFreeSlot);
        Assert.False(pacer.AllTurnsTaken);
    }

    [Fact]
    public void A_released_slot_gives_the_next_turn_and_the_poll_ends_with_every_turn_taken()
    {
        var pacer = new SendPacer();
        pacer.StartPoll(targets: SendPacer.MaxInFlight + 2, sendInterval: 0, now: 0);
        TakeTurns(pacer, now: 0, acquire: true);
        pacer.Release();
        pacer.Release();

        Assert.Equal([SendPacer.MaxInFlight, SendPacer.MaxInFlight + 1], TakeTurns(pacer, now: 0, acquire: true));
        Assert.True(pacer.AllTurnsTaken);
        Assert.False(pacer.TryNextTurn(now: 0, out _));
    }

    [Fact]
    public void A_turn_whose_namespace_does_not_send_takes_no_slot()
    {
        var pacer = new SendPacer();
        pacer.StartPoll(targets: 100, sendInterval: 0, now: 0);
        // Namespaces ended already (still discarding, removed) use their turn without a slot.
        Assert.Equal(100, TakeTurns(pacer, now: 0, acquire: false).Count);
        Assert.True(pacer.AllTurnsTaken);
        Assert.Equal(0, pacer.InFlight);
    }

    [Fact]
    public void Spread_gives_one_turn_per_interval_from_the_polls_start_whatever_is_in_flight()
    {
        var pacer = new SendPacer();
        pacer.StartPoll(targets: 50, sendInterval: 10, now: 1000);
        Assert.True(pacer.Spreads);

        Assert.Equal([0], TakeTurns(pacer, now: 1000, acquire: true));
        Assert.True(pacer.NextTurnAt(out long next));
        Assert.Equal(1010, next);
        Assert.Empty(TakeTurns(pacer, now: 1009, acquire: true));
        Assert.Equal([1, 2, 3], TakeTurns(pacer, now: 1035, acquire: true)); // late: the due turns at once
        Assert.Equal(1040, pacer.NextTurnAt(out next) ? next : -1);

        Assert.Equal(46, TakeTurns(pacer, now: 1000 + 10 * 49, acquire: true).Count); // the cap does not pace --spread
        Assert.True(pacer.InFlight > SendPacer.MaxInFlight);
        Assert.True(pacer.AllTurnsTaken);
        Assert.False(pacer.NextTurnAt(out _)); // no timer to arm
    }

    [Fact]
    public void The_end_of_a_poll_frees_every_slot_and_a_new_poll_starts_from_its_first_namespace()
    {
        var pacer = new SendPacer();
        pacer.StartPoll(targets: 3, sendInterval: 5, now: 0);
        TakeTurns(pacer, now: 100, acquire: true);
        pacer.EndPoll();
        Assert.Equal((0, false, true), (pacer.InFlight, pacer.Spreads, pacer.AllTurnsTaken));

        pacer.StartPoll(targets: 2, sendInterval: 0, now: 200);
        Assert.Equal([0, 1], TakeTurns(pacer, now: 200, acquire: true));
    }

    private static List<int> TakeTurns(SendPacer pacer, long now, bool acquire)
    {
        var turns = new List<int>();
        while (pacer.TryNextTurn(now, out int target))
        {
            turns.Add(target);
            if (acquire) pacer.Acquire();
        }
        return turns;
    }
}
