using Microsoft.Extensions.Logging.Abstractions;
using XtcpEpoll.Loop;
using XtcpEpoll.Sinks.Batching;

namespace XtcpEpoll.Tests.Loop;

/// <summary>Runs a Collector over a test farm's directory with a CollectingSink; waits on poll events.</summary>
public sealed class CollectorHarness : IDisposable
{
    private readonly object _lock = new();
    private long _polls;

    public CollectorHarness(CollectorOptions options, IRecordSink? sink = null)
    {
        var target = sink ?? new CollectingSink();
        Sink = target as CollectingSink ?? new CollectingSink();
        Collector = new Collector(options, target, NullLogger.Instance);
        Collector.PollCompleted += summary =>
        {
            lock (_lock)
            {
                _polls++;
                Summaries.Add((summary, DateTime.UtcNow));
                Monitor.PulseAll(_lock);
            }
        };
    }

    public Collector Collector { get; }
    /// <summary>The sink when it is a CollectingSink (else an unused empty one).</summary>
    public CollectingSink Sink { get; }

    /// <summary>Every ended poll with the wall-clock time the control thread saw it end (lock on the list).</summary>
    public List<(PollSummary Summary, DateTime EndedUtc)> Summaries { get; } = new();

    /// <summary>Options for a test: only the farm's directory, no host namespace, polls driven by the test.</summary>
    public static CollectorOptions OptionsFor(TestNamespaceFarm farm, RequestMode mode = RequestMode.Compat) => new()
    {
        NetnsDirs = [farm.Dir],
        IncludeHost = false,
        Frequency = TimeSpan.FromHours(1),
        Timeout = TimeSpan.FromSeconds(20),
        Request = mode,
        Hostname = "test-host",
    };

    public void Start() => Collector.Start();

    /// <summary>Waits until the collector (control thread) has ended <paramref name="count"/> polls.</summary>
    public void WaitForPolls(long count, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        lock (_lock)
        {
            while (_polls < count)
            {
                var left = deadline - DateTime.UtcNow;
                if (left <= TimeSpan.Zero) throw new TimeoutException($"only {_polls} of {count} polls ended within {timeout}");
                if (Collector.Completion.IsFaulted) throw Collector.Completion.Exception!;
                Monitor.Wait(_lock, TimeSpan.FromMilliseconds(Math.Min(left.TotalMilliseconds, 500)));
            }
        }
    }

    /// <summary>Waits until <paramref name="condition"/> holds (checked every 20 ms; it has no event to await), or fails.</summary>
    public void WaitUntil(Func<bool> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"condition not met within {timeout}");
            if (Collector.Completion.IsFaulted) throw Collector.Completion.Exception!;
            Thread.Sleep(20);
        }
    }

    /// <summary>Triggers one poll and waits for it to end.</summary>
    public void PollOnce(TimeSpan timeout)
    {
        long target;
        lock (_lock) target = _polls + 1;
        Collector.TriggerPoll();
        WaitForPolls(target, timeout);
    }

    /// <summary>
    /// Starts a collector with <paramref name="options"/>, lets it end <paramref name="count"/> polls and
    /// returns each poll's records; <paramref name="between"/> runs after the first poll (e.g. to change
    /// sockets before the next one).
    /// </summary>
    public static List<IReadOnlyList<SeenRecord>> RunPolls(CollectorOptions options, int count, TimeSpan pollWait,
        Action<IReadOnlyList<SeenRecord>>? between = null)
    {
        using var harness = new CollectorHarness(options);
        harness.Start();
        harness.WaitForPolls(1, pollWait);
        between?.Invoke(harness.Sink.Poll(0));
        for (int i = 1; i < count; i++) harness.PollOnce(pollWait);
        var polls = new List<IReadOnlyList<SeenRecord>>();
        for (int i = 0; i < count; i++) polls.Add(harness.Sink.Poll(i));
        return polls;
    }

    public void Dispose()
    {
        Collector.RequestStop();
        if (!Collector.Completion.Wait(TimeSpan.FromSeconds(30))) throw new TimeoutException("collector did not stop");
        Collector.Dispose();
    }
}
