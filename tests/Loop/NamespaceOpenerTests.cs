using System.Collections.Concurrent;
using XtcpEpoll.Loop.Namespaces;
using XtcpEpoll.Netlink.Native;
using Xunit;

namespace XtcpEpoll.Tests.Loop;

public sealed class NamespaceOpenerTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    [Fact]
    public void Opened_socket_lives_in_the_target_namespace_and_the_thread_returns_home()
    {
        using var farm = new TestNamespaceFarm("loop-open");
        var ns = farm.Create(SocketKit.Listener);
        var reports = new RecordingReports();
        var results = reports.Results;
        using var opener = Started(new NamespaceOpener(reports));

        opener.Enqueue(new OpenRequest(ns.Path, ns.Inode));
        Assert.True(results.TryTake(out var result, Wait));
        try
        {
            Assert.True(result.Succeeded, result.Failure.ToString());
            Assert.Equal(ns.Inode, result.Inode);
            Assert.NotEqual(opener.HomeInode, ns.Inode);
            Assert.Equal(ns.Inode, NamespaceOpener.SocketNamespaceInode(result.SocketFd!));
            Assert.Equal(opener.HomeInode, opener.LastVerifiedThreadInode);
            Assert.Equal(Files.Stat(NetNamespace.ProcessPath).Inode, opener.HomeInode);
            Assert.True(result.TcpEhashEntries != 0, "tcp_ehash_entries should be readable inside the namespace");
        }
        finally
        {
            result.SocketFd?.Dispose();
        }
    }

    [Fact]
    public void The_openers_own_namespace_opens_without_setns()
    {
        var reports = new RecordingReports();
        var results = reports.Results;
        using var opener = Started(new NamespaceOpener(reports));
        opener.Enqueue(new OpenRequest("/proc/self/ns/net", opener.HomeInode));
        Assert.True(results.TryTake(out var result, Wait));
        try
        {
            Assert.True(result.Succeeded, result.Failure.ToString());
            Assert.Equal(opener.HomeInode, result.Inode);
            Assert.Equal(opener.HomeInode, NamespaceOpener.SocketNamespaceInode(result.SocketFd!));
        }
        finally
        {
            result.SocketFd?.Dispose();
        }
    }

    [Fact]
    public void A_regular_file_or_a_vanished_path_gives_a_counted_reason_and_no_socket()
    {
        using var farm = new TestNamespaceFarm("loop-bad");
        var stray = farm.CreateStrayFile("not-a-netns");
        var reports = new RecordingReports();
        var results = reports.Results;
        using var opener = Started(new NamespaceOpener(reports));

        opener.Enqueue(new OpenRequest(stray, 0));
        opener.Enqueue(new OpenRequest(Path.Combine(farm.Dir, "vanished"), 0));
        Assert.True(results.TryTake(out var notNetns, Wait));
        Assert.True(results.TryTake(out var vanished, Wait));

        Assert.False(notNetns.Succeeded);
        Assert.Null(notNetns.SocketFd);
        Assert.Equal(OpenFailure.NotNetns, notNetns.Failure);
        Assert.False(vanished.Succeeded);
        Assert.Equal(OpenFailure.Vanished, vanished.Failure);
        Assert.False(opener.Poisoned);
    }

    [Fact]
    public async Task An_opener_that_cannot_get_home_is_poisoned_and_hands_back_pending_work()
    {
        using var farm = new TestNamespaceFarm("loop-poison");
        var ns = farm.Create(SocketKit.None);
        var reports = new RecordingReports();
        var opener = Started(new NamespaceOpener(reports, namespaceSwitch: new RestoreFailsOnce()));

        opener.Enqueue(new OpenRequest(ns.Path, ns.Inode));
        Assert.True(reports.Results.TryTake(out var result, Wait));
        Assert.False(result.Succeeded);
        Assert.Null(result.SocketFd);
        Assert.Equal(OpenFailure.Restore, result.Failure);
        var (poisoned, pending) = await reports.PoisonedWith.Task.WaitAsync(Wait);
        Assert.Same(opener, poisoned);
        Assert.Empty(pending);
        Assert.True(opener.Poisoned);
        opener.Dispose();
    }

    [Fact]
    public void Side_work_runs_on_the_opener_thread_at_home_when_idle_and_between_opens_of_a_burst()
    {
        using var farm = new TestNamespaceFarm("loop-side");
        var namespaces = farm.CreateMany(40, SocketKit.None);
        var reports = new RecordingReports();
        var results = reports.Results;
        var work = new RecordingSideWork();
        using var opener = Started(new NamespaceOpener(reports, work));

        // Idle: due work runs at once, on the opener thread, in the opener's own namespace.
        work.DueNow();
        Assert.True(work.Ran.TryTake(out var idle, Wait));
        Assert.Equal(("xtcp-nsopen", opener.HomeInode), idle);

        // A burst of opens (each one a setns out and back): work due meanwhile still runs, never away from home.
        foreach (var ns in namespaces) opener.Enqueue(new OpenRequest(ns.Path, ns.Inode));
        work.DueNow();
        Assert.True(work.Ran.TryTake(out var duringBurst, Wait));
        Assert.Equal(("xtcp-nsopen", opener.HomeInode), duringBurst);
        for (int i = 0; i < namespaces.Count; i++)
        {
            Assert.True(results.TryTake(out var result, Wait));
            Assert.True(result.Succeeded, result.Failure.ToString());
            result.SocketFd?.Dispose();
        }
        Assert.Empty(work.Ran); // ran once per time it was due, not in a loop
    }

    [Fact]
    public void An_opener_starts_its_thread_only_at_Start_and_may_be_disposed_unstarted()
    {
        var unstarted = new NamespaceOpener(new RecordingReports());
        Assert.Equal(0UL, unstarted.HomeInode); // its thread, which measures home first, has not run
        unstarted.Dispose();

        using var opener = Started(new NamespaceOpener(new RecordingReports()));
        Assert.Equal(Files.Stat(NetNamespace.ProcessPath).Inode, opener.HomeInode);
    }

    private static NamespaceOpener Started(NamespaceOpener opener)
    {
        opener.Start();
        return opener;
    }

    /// <summary>The opener's one reporting path, recorded.</summary>
    private sealed class RecordingReports : IOpenerReports
    {
        public BlockingCollection<OpenResult> Results { get; } = new();
        public TaskCompletionSource<(IOpenerThread, List<OpenRequest>)> PoisonedWith { get; } = new();

        public void Opened(OpenResult result) => Results.Add(result);
        public void Poisoned(IOpenerThread opener, List<OpenRequest> pending) => PoisonedWith.TrySetResult((opener, pending));
    }

    /// <summary>
    /// The fault seam: the real setns both ways, but the first restore (the second setns) reports EPERM, as if
    /// the thread could not get home. (It did get home, so the test process stays safe.)
    /// </summary>
    private sealed class RestoreFailsOnce : INamespaceSwitch
    {
        private int _enters;

        public int Enter(OwnedFd namespaceFd)
        {
            int errno = NetNamespace.Enter(namespaceFd);
            return ++_enters == 2 ? 1 /* EPERM */ : errno;
        }

        public ulong InodeOfThread() => NetNamespace.InodeOfThread();
    }

    /// <summary>Side work that records where it ran; due only when the test says so.</summary>
    private sealed class RecordingSideWork : IOpenerSideWork
    {
        private Action? _wake;
        private long _due = long.MaxValue;
        public BlockingCollection<(string? Thread, ulong Inode)> Ran { get; } = new();

        public void DueNow()
        {
            Interlocked.Exchange(ref _due, 0);
            _wake?.Invoke();
        }

        public void Attach(Action wake) => _wake = wake;
        public long DueAt() => Interlocked.Read(ref _due);

        public void Run()
        {
            Interlocked.Exchange(ref _due, long.MaxValue);
            Ran.Add((Thread.CurrentThread.Name, NetNamespace.InodeOfThread()));
        }
    }
}
