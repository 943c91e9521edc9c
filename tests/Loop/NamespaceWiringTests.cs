using Microsoft.Extensions.Logging;
using XtcpEpoll.Loop;
using XtcpEpoll.Loop.Attribution;
using XtcpEpoll.Loop.Control;
using XtcpEpoll.Loop.Namespaces;
using XtcpEpoll.Loop.Polling;
using XtcpEpoll.Netlink.Native;
using XtcpEpoll.Netlink.Parsing;
using XtcpEpoll.Sinks.Batching;
using XtcpEpoll.Sinks.Records;
using Xunit;

namespace XtcpEpoll.Tests.Loop;

/// <summary>
/// The registry wired to the control thread's real parts (attachments, poll coordinator, opener supervisor),
/// with fake lanes and a fake opener: the host-table rule and attribution, without root or namespaces.
/// </summary>
public sealed class NamespaceWiringTests
{
    private const ulong Nsfs = 4;

    [Fact]
    public void The_start_up_line_the_gauge_and_the_snapshot_count_the_host_table_by_one_rule_the_daemons_own_namespace_included()
    {
        var w = new Wiring();
        // The daemon runs in a container: its own namespace shares the host table too (tcp_ehash_entries < 0).
        w.Registry.Begin(hostInode: 1, [Ns("a", 100), Ns("b", 200)], now: 0);
        w.Answer(ehash: new() { [1] = -262144, [100] = -262144, [200] = 1024 });

        Assert.Equal(1, w.InitialOpensDone);
        Assert.Equal((3, 2), (w.Polls.NamespacesOpen, w.Polls.NamespacesSharingHostTable));
        Assert.Equal(2, w.Registry.Snapshot().Count(n => n.SharesHostTable));
        Assert.Contains("2 of 3 network namespaces share the host TCP hash table", Assert.Single(w.Log.Warnings));
        Assert.Equal(3, w.Status.NamespacesOpen);

        w.Registry.OnPathGone(P("a"));
        Assert.Equal((2, 1), (w.Polls.NamespacesOpen, w.Polls.NamespacesSharingHostTable));
        Assert.Equal(1, w.Registry.Snapshot().Count(n => n.SharesHostTable));
    }

    [Fact]
    public void With_every_namespace_owning_its_table_the_start_up_line_says_none_shares()
    {
        var w = new Wiring();
        w.Registry.Begin(hostInode: 1, [Ns("a", 100)], now: 0);
        w.Answer(ehash: new() { [1] = 262144, [100] = 1024 });

        Assert.Equal(0, w.Polls.NamespacesSharingHostTable);
        Assert.Empty(w.Log.Warnings);
        Assert.Contains("2 network namespaces open; none shares the host TCP hash table", w.Log.Infos);
    }

    [Fact]
    public void The_registry_applies_attribution_only_to_the_handle_it_was_found_for_and_a_new_handle_starts_without()
    {
        var w = new Wiring();
        w.Registry.Begin(hostInode: null, [Ns("a", 100)], now: 0);
        w.Answer(ehash: new() { [100] = 1024 });
        Assert.True(w.Registry.TryGet(100, out var entry));
        ulong firstHandle = entry.Handle!.Id;
        var owner = RecordAttribution.Create("c0ffee", "containerd", "pod-1");

        w.Registry.ApplyAttribution([new NamespaceAttribution(100, firstHandle + 1, owner)]); // a handle that is not (or no longer) this one
        Assert.Same(RecordAttribution.None, entry.Attribution);
        w.Registry.ApplyAttribution([new NamespaceAttribution(100, firstHandle, owner), new NamespaceAttribution(999, 1, owner)]);
        Assert.Same(owner, entry.Attribution);

        // The namespace goes and its inode comes back as another namespace: a new entry and handle, no inherited owner.
        w.Registry.OnPathGone(P("a"));
        w.Registry.OnAppeared(Ns("a", 100), now: 0);
        w.Answer(ehash: new() { [100] = 1024 });
        Assert.True(w.Registry.TryGet(100, out var reopened));
        Assert.NotEqual(firstHandle, reopened.Handle!.Id);
        Assert.Same(RecordAttribution.None, reopened.Attribution);
        w.Registry.ApplyAttribution([new NamespaceAttribution(100, firstHandle, owner)]); // a pass that looked for the old one
        Assert.Same(RecordAttribution.None, reopened.Attribution);
    }

    private static string P(string name) => $"/run/xt-wiring/{name}";
    private static NamespaceCandidate Ns(string name, ulong inode) => new(P(name), name, Nsfs, inode);

    private sealed class Wiring
    {
        private readonly List<OpenRequest> _requests = new();

        public Wiring()
        {
            var lanes = new[] { new NullLane(), new NullLane() };
            Polls = new PollCoordinator(new CollectorOptions { Workers = lanes.Length, Hostname = "h" }, lanes, new NullSink(), new ParseErrorCounters(), Log);
            var opener = new OpenerSupervisor(_ => new QueueOpener(_requests), _ => { }, Log);
            Registry = new NamespaceRegistry(Nsfs, new NamespaceAttachments(Polls, opener, attribution: null, Status, new ChurnCollection(0), () => InitialOpensDone++, Log));
        }

        public RecordingLogger Log { get; } = new();
        public LoopStatus Status { get; } = new();
        public PollCoordinator Polls { get; }
        public NamespaceRegistry Registry { get; }
        public int InitialOpensDone { get; private set; }

        /// <summary>The opener answers every queued request with a socket stand-in and the given tcp_ehash_entries.</summary>
        public void Answer(Dictionary<ulong, int> ehash)
        {
            var requests = _requests.ToList();
            _requests.Clear();
            foreach (var request in requests)
                Registry.OnOpenResult(new OpenResult { Request = request, SocketFd = new OwnedFd(-1), Inode = request.ExpectedInode, TcpEhashEntries = ehash[request.ExpectedInode] });
        }
    }

    private sealed class QueueOpener(List<OpenRequest> queue) : IOpenerThread
    {
        public void Start() { }
        public void Enqueue(OpenRequest request) => queue.Add(request);
        public void Dispose() { }
    }

    private sealed class NullLane : ILaneMailbox
    {
        public void Post(LaneCommand command) { }
    }

    private sealed class NullSink : IRecordSink
    {
        public void Append(ReadOnlySpan<FlatRecord> records) { }
        public void EndOfPoll(FlushReason reason) { }
        public Task ShutdownAsync(TimeSpan timeout) => Task.CompletedTask;
    }

    internal sealed class RecordingLogger : ILogger
    {
        public List<string> Warnings { get; } = new();
        public List<string> Infos { get; } = new();

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (logLevel == LogLevel.Warning) Warnings.Add(formatter(state, exception));
            else if (logLevel == LogLevel.Information) Infos.Add(formatter(state, exception));
        }
    }
}
