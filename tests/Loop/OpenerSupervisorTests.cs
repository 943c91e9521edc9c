using Microsoft.Extensions.Logging.Abstractions;
using XtcpEpoll.Loop.Control;
using XtcpEpoll.Loop.Namespaces;
using Xunit;

namespace XtcpEpoll.Tests.Loop;

/// <summary>The opener's supervision rules, with fake openers (no root, no threads, no namespaces).</summary>
public sealed class OpenerSupervisorTests
{
    [Fact]
    public void The_first_opener_is_made_at_once_but_started_only_by_Start()
    {
        var (supervisor, openers, _) = New();
        Assert.False(Assert.Single(openers).Started);

        supervisor.Start();
        supervisor.Enqueue(Request("a"));
        Assert.True(openers[0].Started);
        Assert.Equal(["a"], openers[0].Queue.Select(r => r.Path));
    }

    [Fact]
    public void A_poisoned_opener_is_disposed_and_a_started_new_one_gets_its_unserved_requests()
    {
        var (supervisor, openers, _) = New();
        supervisor.Start();

        supervisor.OnPoisoned(openers[0], [Request("b"), Request("c")]);
        supervisor.Enqueue(Request("d"));

        Assert.Equal(2, openers.Count);
        Assert.True(openers[0].Disposed);
        Assert.True(openers[1].Started);
        Assert.Equal(["b", "c", "d"], openers[1].Queue.Select(r => r.Path));
        Assert.Equal(1, supervisor.Restarts);
    }

    [Fact]
    public void A_late_report_from_an_opener_already_replaced_changes_nothing()
    {
        var (supervisor, openers, _) = New();
        supervisor.Start();
        supervisor.OnPoisoned(openers[0], []);

        supervisor.OnPoisoned(openers[0], [Request("x")]);
        Assert.Equal(2, openers.Count);
        Assert.Empty(openers[1].Queue);
        Assert.Equal(1, supervisor.Restarts);
    }

    [Fact]
    public void Past_the_restart_limit_the_supervisor_throws_so_the_collector_stops()
    {
        var (supervisor, openers, _) = New();
        supervisor.Start();
        for (int i = 0; i < OpenerSupervisor.MaxRestarts; i++) supervisor.OnPoisoned(openers[^1], []);
        Assert.Equal(OpenerSupervisor.MaxRestarts + 1, openers.Count);

        var error = Assert.Throws<InvalidOperationException>(() => supervisor.OnPoisoned(openers[^1], []));
        Assert.Contains($"poisoned {OpenerSupervisor.MaxRestarts + 1} times", error.Message);
        Assert.Equal(OpenerSupervisor.MaxRestarts + 1, openers.Count); // no opener made after the last straw
        Assert.True(openers[^1].Disposed);
    }

    [Fact]
    public void An_openers_reports_reach_the_control_thread_as_commands()
    {
        var (supervisor, openers, posted) = New();
        var result = new OpenResult { Request = Request("a"), Failure = OpenFailure.Setns };

        openers[0].Reports.Opened(result);
        openers[0].Reports.Poisoned(openers[0], [Request("b")]);

        Assert.Same(result, Assert.IsType<ControlCommand.Opened>(posted[0]).Result);
        var poisoned = Assert.IsType<ControlCommand.OpenerPoisoned>(posted[1]);
        Assert.Same(openers[0], poisoned.Opener);
        Assert.Equal("b", Assert.Single(poisoned.Pending).Path);
    }

    private static (OpenerSupervisor Supervisor, List<FakeOpener> Openers, List<ControlCommand> Posted) New()
    {
        var openers = new List<FakeOpener>();
        var posted = new List<ControlCommand>();
        var supervisor = new OpenerSupervisor(reports =>
        {
            var opener = new FakeOpener(reports);
            openers.Add(opener);
            return opener;
        }, posted.Add, NullLogger.Instance);
        return (supervisor, openers, posted);
    }

    private static OpenRequest Request(string path) => new(path, 0);

    private sealed class FakeOpener(IOpenerReports reports) : IOpenerThread
    {
        public IOpenerReports Reports { get; } = reports;
        public List<OpenRequest> Queue { get; } = new();
        public bool Started { get; private set; }
        public bool Disposed { get; private set; }

        public void Start() => Started = true;
        public void Enqueue(OpenRequest request) => Queue.Add(request);
        public void Dispose() => Disposed = true;
    }
}
