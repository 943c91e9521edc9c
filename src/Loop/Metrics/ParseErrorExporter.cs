using XtcpEpoll.Netlink.Parsing;

namespace XtcpEpoll.Loop.Metrics;

/// <summary>Copies the parser's ParseErrorCounters into xtcp_parse_errors_total{kind} (deltas, once per poll).</summary>
internal sealed class ParseErrorExporter(ParseErrorCounters counters)
{
    private readonly long[] _exported = new long[ParseErrorCounters.Kinds.Length];

    public void Export()
    {
        for (int i = 0; i < ParseErrorCounters.Kinds.Length; i++)
        {
            var kind = ParseErrorCounters.Kinds[i];
            long now = counters.Get(kind);
            if (now == _exported[i]) continue;
            LoopMetrics.ParseErrors.WithLabels(kind.ToString()).Inc(now - _exported[i]);
            _exported[i] = now;
        }
    }
}
