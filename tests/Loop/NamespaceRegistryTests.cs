using System.Diagnostics;
using XtcpEpoll.Loop.Namespaces;
using XtcpEpoll.Loop.Polling;
using XtcpEpoll.Netlink.Native;
using Xunit;

namespace XtcpEpoll.Tests.Loop;

/// <summary>
/// The namespace registry on synthetic candidates and open results: no /run mounts, no namespaces, no root.
/// (DiscoveryTests and the churn tests cover the same paths against real inotify and mounts.)
/// </summary>
public sealed class NamespaceRegistryTests
{
    private const ulong Nsfs = 4, Tmpfs = 99;
    private const string Dir = "/run/xt-registry";

    [Fact]
    public void The_first_poll_waits_until_the_host_and_every_namespace_found_at_start_up_have_answered()
    {
        var (registry, actions) = New();
        registry.Begin(hostInode: 1, [Ns("a", 100), Ns("b", 200)], At(0));

        Assert.Equal([("/proc/self/ns/net", 1UL), (P("a"), 100UL), (P("b"), 200UL)], actions.Opens.Select(o => (o.Path, o.ExpectedInode)));
        registry.OnOpenResult(Opened(actions.Opens[0], 1));
        registry.OnOpenResult(Failed(actions.Opens[1], OpenFailure.Setns));
        Assert.True(registry.WaitingForInitialOpens);
        Assert.Equal(0, actions.InitialDone);
        registry.OnOpenResult(Opened(actions.Opens[2], 200));

        Assert.Equal(1, actions.InitialDone);
        Assert.False(registry.WaitingForInitialOpens);
        Assert.Equal(["default", "b"], actions.Attached.Select(a => a.Entry.Name));
        Assert.Equal(2, registry.Snapshot().Count(n => n.Open));
    }

    [Fact]
    public void With_nothing_to_open_the_first_poll_may_start_at_once()
    {
        var (registry, actions) = New();
        registry.Begin(hostInode: null, [], At(0));
        Assert.Equal(1, actions.InitialDone);
    }

    [Fact]
    public void A_namespace_mounted_twice_is_one_entry_until_its_last_path_goes()
    {
        var (registry, actions) = New();
        registry.Begin(null, [Ns("a", 100), Ns("a2", 100)], At(0));
        registry.OnOpenResult(Opened(Assert.Single(actions.Opens), 100));

        registry.OnPathGone(P("a"));
        Assert.Empty(actions.Detached);
        Assert.Equal(P("a2"), Assert.Single(registry.Entries).OpenPath);
        registry.OnPathGone(P("a2"));
        Assert.Equal(100UL, Assert.Single(actions.Detached).Inode);
        Assert.Empty(registry.Entries);
    }

    [Fact]
    public void A_namespace_the_proc_scan_also_saw_is_closed_when_its_last_mount_goes()
    {
        // Issue 25 (container soak): with --proc-scan, a reconcile saw every running container's namespace in
        // /proc as well; when the container was removed its mount went but the namespace stayed open until the
        // next reconcile, up to a minute of polls of a dead container.
        var (registry, actions) = New();
        registry.Begin(null, [Ns("a", 100)], At(0));
        registry.OnOpenResult(Opened(Assert.Single(actions.Opens), 100));
        registry.Reconcile([Ns("a", 100), new NamespaceCandidate("/proc/4242/ns/net", null, Nsfs, 100)], bindCount: 1, At(60_000));
        Assert.True(Assert.Single(registry.Entries).FromProcScan);

        registry.OnPathGone(P("a"));

        Assert.Equal(100UL, Assert.Single(actions.Detached).Inode);
        Assert.Empty(registry.Entries);
    }

    [Fact]
    public void A_socket_that_arrives_after_its_namespace_went_is_discarded()
    {
        var (registry, actions) = New();
        registry.Begin(null, [], At(0));
        registry.OnAppeared(Ns("a", 100), At(0));
        registry.OnPathGone(P("a"));

        registry.OnOpenResult(Opened(Assert.Single(actions.Opens), 100));
        Assert.Single(actions.Discarded);
        Assert.Empty(actions.Attached);
    }

    [Fact]
    public void A_failed_open_is_retried_at_the_next_reconcile_and_a_vanished_namespace_is_dropped()
    {
        var (registry, actions) = New();
        registry.Begin(null, [Ns("a", 100), Ns("b", 200)], At(0));
        registry.OnOpenResult(Failed(actions.Opens[0], OpenFailure.Setns));
        registry.OnOpenResult(Failed(actions.Opens[1], OpenFailure.Vanished));
        Assert.Single(registry.Entries);

        actions.Opens.Clear();
        registry.Reconcile([Ns("a", 100)], bindCount: 1, At(60_000));
        Assert.Equal((P("a"), 100UL), (Assert.Single(actions.Opens).Path, actions.Opens[0].ExpectedInode));
    }

    [Fact]
    public void Reconcile_removes_what_no_source_reports_and_opens_what_is_new()
    {
        var (registry, actions) = New();
        registry.Begin(null, [Ns("a", 100), Ns("b", 200)], At(0));
        foreach (var open in actions.Opens.ToList()) registry.OnOpenResult(Opened(open, open.ExpectedInode));
        actions.Opens.Clear();

        registry.Reconcile([Ns("b", 200), Ns("c", 300)], bindCount: 2, At(60_000));
        Assert.Equal(100UL, Assert.Single(actions.Detached).Inode);
        Assert.Equal(P("c"), Assert.Single(actions.Opens).Path);
    }

    [Fact]
    public void A_name_that_now_points_at_another_namespace_replaces_it()
    {
        var (registry, actions) = New();
        registry.Begin(null, [Ns("a", 100)], At(0));
        registry.OnOpenResult(Opened(actions.Opens[0], 100));

        registry.OnAppeared(Ns("a", 101), At(10));
        Assert.Equal(100UL, Assert.Single(actions.Detached).Inode);
        Assert.Equal(101UL, actions.Opens[^1].ExpectedInode);
    }

    [Fact]
    public void A_proc_scan_namespace_is_named_by_inode_until_a_bind_mount_names_it()
    {
        var (registry, actions) = New();
        registry.Begin(null, [new NamespaceCandidate("/proc/42/ns/net", null, Nsfs, 100)], At(0));
        Assert.Equal("netns:[100]", Assert.Single(registry.Entries).Name);

        registry.OnAppeared(Ns("web", 100), At(1));
        Assert.Equal("web", Assert.Single(registry.Entries).Name);
        Assert.Single(actions.Opens); // the same namespace: not opened again
    }

    [Fact]
    public void A_placeholder_is_reprobed_and_opened_once_its_bind_mount_is_there()
    {
        var (registry, actions) = New();
        registry.Begin(null, [], At(0));
        registry.OnAppeared(Placeholder("new"), At(0)); // `ip netns add`: the empty file comes before the mount

        Assert.Empty(actions.Opens);
        Assert.Equal(At(20), registry.NextProbeDue);
        Assert.Empty(DueAt(registry, At(19)));
        Assert.Equal([P("new")], DueAt(registry, At(20)));
        registry.OnProbed(Placeholder("new"), At(20));         // not mounted yet: again in 100 ms
        Assert.Equal(At(20) + Ticks(PlaceholderProbes.Retries[1]), registry.NextProbeDue);
        registry.OnProbed(Ns("new", 500), At(120));            // mounted
        Assert.Equal((P("new"), 500UL), (Assert.Single(actions.Opens).Path, actions.Opens[0].ExpectedInode));
        Assert.Equal(long.MaxValue, registry.NextProbeDue);
    }

    /// <summary>
    /// Defect (issue 12): a placeholder whose mount came after its last re-probe was opened with inode 0 and the
    /// socket then closed (no entry matched inode 0), so the namespace waited for the next reconcile (60 s).
    /// </summary>
    [Fact]
    public void A_placeholder_mounted_after_its_last_probe_is_polled_with_the_socket_the_opener_made()
    {
        var (registry, actions) = New();
        registry.Begin(null, [], At(0));
        registry.OnAppeared(Placeholder("late"), At(0));
        long now = At(0);
        foreach (var retry in PlaceholderProbes.Retries)
        {
            now += Ticks(retry);
            Assert.Equal([P("late")], DueAt(registry, now));
            registry.OnProbed(Placeholder("late"), now);
        }
        var open = Assert.Single(actions.Opens);
        Assert.Equal((P("late"), 0UL), (open.Path, open.ExpectedInode)); // the opener tries it as it is

        registry.OnOpenResult(Opened(open, 777)); // mounted meanwhile: the opener found a namespace there
        Assert.Empty(actions.Discarded);
        var (entry, _) = Assert.Single(actions.Attached);
        Assert.Equal(("late", 777UL), (entry.Name, entry.Inode));
        Assert.Equal(1, registry.Snapshot().Count(n => n.Open));

        registry.Reconcile([Ns("late", 777)], bindCount: 1, At(60_000)); // the reconcile finds it known and open
        Assert.Single(actions.Opens);
        registry.OnPathGone(P("late"));
        Assert.Equal(777UL, Assert.Single(actions.Detached).Inode);
    }

    [Fact]
    public void A_placeholder_opened_late_for_a_namespace_known_by_another_path_only_adds_the_path()
    {
        var (registry, actions) = New();
        registry.Begin(null, [Ns("first", 777)], At(0));
        registry.OnOpenResult(Opened(actions.Opens[0], 777));
        registry.OnAppeared(Placeholder("second"), At(0));
        long now = At(0);
        foreach (var retry in PlaceholderProbes.Retries) registry.OnProbed(Placeholder("second"), now += Ticks(retry));

        registry.OnOpenResult(Opened(actions.Opens[^1], 777));
        Assert.Single(actions.Discarded); // one socket per namespace
        Assert.Single(actions.Attached);
        Assert.Contains(P("second"), Assert.Single(registry.Entries).BindPaths);
    }

    [Fact]
    public void A_stray_file_is_tried_once_its_probes_ran_out_and_again_after_the_next_reconcile()
    {
        var (registry, actions) = New();
        registry.Begin(null, [Placeholder("stray")], At(0));
        long now = At(0);
        foreach (var retry in PlaceholderProbes.Retries) registry.OnProbed(Placeholder("stray"), now += Ticks(retry));
        registry.OnOpenResult(Failed(Assert.Single(actions.Opens), OpenFailure.NotNetns));
        Assert.Empty(registry.Entries);
        Assert.Equal(long.MaxValue, registry.NextProbeDue);

        registry.Reconcile([Placeholder("stray")], bindCount: 1, At(60_000));
        Assert.Equal(At(60_000) + Ticks(PlaceholderProbes.Retries[0]), registry.NextProbeDue); // probed afresh
    }

    [Fact]
    public void A_placeholder_deleted_before_its_mount_is_forgotten()
    {
        var (registry, actions) = New();
        registry.Begin(null, [], At(0));
        registry.OnAppeared(Placeholder("gone"), At(0));
        registry.OnProbed(new NamespaceCandidate(P("gone"), "gone", 0, 0), At(20)); // stat failed: no such file
        Assert.Equal(long.MaxValue, registry.NextProbeDue);
        Assert.Empty(actions.Opens);
    }

    // ---------------------------------------------------------------- helpers

    private static (NamespaceRegistry Registry, Recorder Actions) New()
    {
        var actions = new Recorder();
        return (new NamespaceRegistry(Nsfs, actions), actions);
    }

    private static string P(string name) => $"{Dir}/{name}";
    private static NamespaceCandidate Ns(string name, ulong inode) => new(P(name), name, Nsfs, inode);
    private static NamespaceCandidate Placeholder(string name) => new(P(name), name, Tmpfs, 9000);
    private static long At(double ms) => 1_000_000 + Ticks(TimeSpan.FromMilliseconds(ms));
    private static long Ticks(TimeSpan span) => (long)(span.TotalSeconds * Stopwatch.Frequency);

    private static List<string> DueAt(NamespaceRegistry registry, long now)
    {
        var due = new List<string>();
        registry.CollectDueProbes(now, due);
        return due;
    }

    /// <summary>A successful open; the socket is a stand-in that owns no fd (the registry never touches it).</summary>
    private static OpenResult Opened(OpenRequest request, ulong inode) => new() { Request = request, SocketFd = new OwnedFd(-1), Inode = inode };
    private static OpenResult Failed(OpenRequest request, OpenFailure failure) => new() { Request = request, Failure = failure };

    private sealed class Recorder : INamespaceRegistryActions
    {
        public List<OpenRequest> Opens { get; } = new();
        public List<(NamespaceEntry Entry, OpenResult Result)> Attached { get; } = new();
        public List<NamespaceHandle> Detached { get; } = new();
        public List<OpenResult> Discarded { get; } = new();
        public int InitialDone { get; private set; }

        public void Open(OpenRequest request) => Opens.Add(request);

        public NamespaceHandle Attach(NamespaceEntry entry, OpenResult opened)
        {
            Attached.Add((entry, opened));
            return new NamespaceHandle { Id = (ulong)Attached.Count, Inode = opened.Inode, Name = entry.Name, SocketFd = opened.SocketFd!, Lane = 0 };
        }

        public void Detach(NamespaceHandle handle) => Detached.Add(handle);
        public void Discard(OpenResult unwanted) => Discarded.Add(unwanted);
        public void InitialOpensDone() => InitialDone++;
    }
}
