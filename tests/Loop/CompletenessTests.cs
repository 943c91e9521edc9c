using XtcpEpoll.Loop;
using Xunit;

namespace XtcpEpoll.Tests.Loop;

/// <summary>Every poll emits exactly the sockets that exist: none missing, no duplicates, right context.</summary>
public sealed class CompletenessTests
{
    private static readonly TimeSpan PollWait = TimeSpan.FromSeconds(30);

    [Theory]
    [InlineData(RequestMode.Compat)]
    [InlineData(RequestMode.V2)]
    public void Each_of_three_polls_emits_exactly_the_known_sockets_with_their_namespace_context(RequestMode mode)
    {
        using var farm = new TestNamespaceFarm("loop-complete");
        var namespaces = farm.CreateMany(5, SocketKit.Full);
        var polls = RunPolls(farm, mode, 3);

        long previousTimestamp = 0;
        foreach (var poll in polls)
        {
            Assert.NotEmpty(poll);
            long timestamp = poll[0].TimestampNs;
            Assert.True(timestamp > previousTimestamp, "each poll has its own, later timestamp");
            previousTimestamp = timestamp;
            Assert.All(poll, r => Assert.Equal(timestamp, r.TimestampNs));
            Assert.All(poll, r => Assert.Equal("test-host", r.Hostname));
            Assert.All(poll, r => Assert.False(r.DumpIncomplete));
            foreach (var ns in namespaces)
            {
                var mine = poll.Where(r => r.Netns == ns.Name).ToList();
                Assert.All(mine, r => Assert.Equal(ns.Inode, r.NetnsInode));
                Assert.Equal(ns.Expected.Count, mine.Count); // no duplicates
                Assert.Equal(ns.Expected.ToHashSet(), mine.Select(r => r.Key).ToHashSet()); // none missing, none foreign
                Assert.Equal(mine.Count, mine.Select(r => r.Cookie).Distinct().Count());
            }
            Assert.Equal(namespaces.Sum(n => n.Expected.Count), poll.Count);
            Assert.Contains(poll, r => r.Family == 10);
            Assert.Contains(poll, r => r.Family == 2);
        }
    }

    [Fact]
    public void Compat_and_v2_requests_report_the_same_sockets_with_the_same_attributes()
    {
        using var farm = new TestNamespaceFarm("loop-modes");
        farm.CreateMany(3, SocketKit.Full);
        var compat = RunPolls(farm, RequestMode.Compat, 1)[0];
        var v2 = RunPolls(farm, RequestMode.V2, 1)[0];

        Assert.All(compat, r => Assert.Equal(18, r.MessageType));
        Assert.All(v2, r => Assert.Equal(20, r.MessageType));
        var compatByCookie = compat.ToDictionary(r => r.Cookie);
        var v2ByCookie = v2.ToDictionary(r => r.Cookie);
        Assert.Equal(compatByCookie.Keys.ToHashSet(), v2ByCookie.Keys.ToHashSet());
        foreach (var (cookie, a) in compatByCookie)
        {
            var b = v2ByCookie[cookie];
            Assert.Equal((a.Netns, a.NetnsInode, a.Key, a.Present, a.Congestion), (b.Netns, b.NetnsInode, b.Key, b.Present, b.Congestion));
        }
        Assert.Contains(compat, r => r.Present.HasFlag(XtcpEpoll.Netlink.Parsing.AttributeSet.Info));
    }

    /// <summary>Starts a collector on the farm, lets it run <paramref name="count"/> polls, returns each poll's records.</summary>
    private static List<IReadOnlyList<SeenRecord>> RunPolls(TestNamespaceFarm farm, RequestMode mode, int count)
        => CollectorHarness.RunPolls(CollectorHarness.OptionsFor(farm, mode), count, PollWait);
}
