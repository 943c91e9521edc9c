namespace XtcpEpoll.Netlink.Parsing;

/// <summary>
/// Thread-safe counts of parse damage per <see cref="ParseErrorKind"/>. Shared by all reader threads;
/// the Loop/Host export them as xtcp_parse_errors_total{kind}.
/// </summary>
public sealed class ParseErrorCounters
{
    /// <summary>Every kind, in enum order (for exporters).</summary>
    public static readonly ParseErrorKind[] Kinds = Enum.GetValues<ParseErrorKind>();

    private readonly long[] _counts = new long[Kinds.Length];

    public void Increment(ParseErrorKind kind) => Interlocked.Increment(ref _counts[(int)kind]);

    public long Get(ParseErrorKind kind) => Interlocked.Read(ref _counts[(int)kind]);

    public long Total
    {
        get
        {
            long total = 0;
            for (int i = 0; i < _counts.Length; i++)
                total += Interlocked.Read(ref _counts[i]);
            return total;
        }
    }

    public override string ToString()
    {
        var parts = new List<string>();
        foreach (var kind in Kinds)
        {
            long count = Get(kind);
            if (count != 0)
                parts.Add($"{kind}={count}");
        }
        return parts.Count == 0 ? "none" : string.Join(" ", parts);
    }
}
