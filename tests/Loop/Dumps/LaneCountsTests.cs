using System.Runtime.InteropServices;
using XtcpEpoll.Loop.Dumps;
using Xunit;

namespace XtcpEpoll.Tests.Loop.Dumps;

/// <summary>The one type that counts a poll: what each report adds, the frame round trip, the sum over lanes (no root).</summary>
public sealed class LaneCountsTests
{
    [Fact]
    public void Only_failed_ends_are_counted_each_as_its_kind()
    {
        var counts = new LaneCounts();
        foreach (var how in new[] { DumpEnd.Done, DumpEnd.Timeout, DumpEnd.Timeout, DumpEnd.Error, DumpEnd.Abandoned })
            counts.CountEnd(how);
        Assert.Equal((2, 1, 1), (counts.Timeouts, counts.DumpErrors, counts.Abandoned));
    }

    [Fact]
    public void Every_report_reaches_its_own_count_and_survives_the_LaneDone_frame()
    {
        var counts = Reported();
        var bytes = new byte[LaneCounts.Size];
        MemoryMarshal.Write(bytes, in counts);
        var carried = MemoryMarshal.Read<LaneCounts>(bytes);

        Assert.Equal((2L, 1500L), (carried.Datagrams, carried.Bytes));
        Assert.Equal((1, 1, 2, 1), (carried.Interrupts, carried.CompatFallbacks, carried.LookupsFound, carried.LookupsMissing));
        Assert.Equal((1, 2, 1), (carried.Walks[(int)WalkReason.First], carried.Walks[(int)WalkReason.Unknown], carried.WalksDeferred));
        Assert.Equal((1, 1), (carried.CounterReadFailures, carried.CounterParseFailures));
        Assert.Equal((7L, 3L, 10L), (carried.Records, carried.DestroyEvents, carried.DestroyEventsLost));
    }

    [Fact]
    public void Lanes_are_summed_field_by_field()
    {
        var total = new LaneCounts();
        total.Add(Reported());
        total.Add(Reported());
        var one = Reported();

        // Every field doubles: compared through the frame bytes, so a field left out of Add fails here.
        var sum = MemoryMarshal.Cast<byte, int>(Bytes(total));
        var single = MemoryMarshal.Cast<byte, int>(Bytes(one));
        Assert.Equal(single.Length, sum.Length);
        for (int i = 0; i < single.Length; i++)
            Assert.True(single[i] == 0 || sum[i] != single[i], $"word {i} of the counts was not summed");
        Assert.Equal(2 * one.Bytes, total.Bytes);
        Assert.Equal(2 * one.Walks[(int)WalkReason.Unknown], total.Walks[(int)WalkReason.Unknown]);
        Assert.Equal(2 * one.DestroyEventsLost, total.DestroyEventsLost);
    }

    private static byte[] Bytes(LaneCounts counts)
    {
        var bytes = new byte[LaneCounts.Size];
        MemoryMarshal.Write(bytes, in counts);
        return bytes;
    }

    /// <summary>One report of every kind, as the lane thread and the parse worker make them.</summary>
    private static LaneCounts Reported()
    {
        var counts = new LaneCounts();
        counts.CountRead(1000);
        counts.CountRead(500);
        counts.CountEnd(DumpEnd.Timeout);
        counts.CountEnd(DumpEnd.Error);
        counts.CountEnd(DumpEnd.Abandoned);
        counts.CountInterrupt();
        counts.CountCompatFallback();
        counts.CountLookup(found: true);
        counts.CountLookup(found: true);
        counts.CountLookup(found: false);
        counts.CountWalk(WalkReason.First);
        counts.CountWalk(WalkReason.Unknown);
        counts.CountWalk(WalkReason.Unknown);
        counts.CountWalkDeferred();
        counts.CountCounterFailure(parse: false);
        counts.CountCounterFailure(parse: true);
        counts.CountDestroyEventsLost(10);
        counts.AddRecords(records: 7, destroyEvents: 3);
        return counts;
    }
}
