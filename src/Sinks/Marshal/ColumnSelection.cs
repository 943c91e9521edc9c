using Google.Protobuf.Reflection;

namespace XtcpEpoll.Sinks.Marshal;

/// <summary>
/// The csv/tsv columns: every record field in field-number order by default, or the --columns list
/// (comma-separated proto3 JSON names, e.g. "hostname,inetDiagMsgSocketSource,tcpInfoRtt") in the
/// order given.
/// </summary>
public sealed class ColumnSelection
{
    public IReadOnlyList<FieldDescriptor> Columns { get; }

    /// <summary>Column index of each field number, -1 when the field is not selected.</summary>
    internal int[] ColumnOfField { get; }

    private ColumnSelection(List<FieldDescriptor> columns)
    {
        Columns = columns;
        ColumnOfField = new int[RecordSchema.MaxFieldNumber + 1];
        Array.Fill(ColumnOfField, -1);
        for (var i = 0; i < columns.Count; i++)
            ColumnOfField[columns[i].FieldNumber] = i;
    }

    public static ColumnSelection All() => new(new List<FieldDescriptor>(RecordSchema.Fields));

    /// <summary>Parses --columns; on failure <paramref name="error"/> is one line naming what to fix.</summary>
    public static bool TryParse(string? text, out ColumnSelection selection, out string error)
    {
        selection = null!;
        error = "";
        if (string.IsNullOrWhiteSpace(text))
        {
            selection = All();
            return true;
        }
        var byName = new Dictionary<string, FieldDescriptor>(StringComparer.Ordinal);
        foreach (var f in RecordSchema.Fields)
            byName[f.JsonName] = f;
        var columns = new List<FieldDescriptor>();
        var unknown = new List<string>();
        var duplicate = new List<string>();
        foreach (var raw in text.Split(','))
        {
            var name = raw.Trim();
            if (name.Length == 0) continue;
            if (!byName.TryGetValue(name, out var field)) unknown.Add(name);
            else if (columns.Contains(field)) duplicate.Add(name);
            else columns.Add(field);
        }
        if (unknown.Count > 0)
        {
            error = $"--columns: unknown column(s) {string.Join(", ", unknown)}; use lowerCamelCase field names such as hostname, inetDiagMsgSocketSource, tcpInfoRtt, congestionAlgorithmString";
            return false;
        }
        if (duplicate.Count > 0)
        {
            error = $"--columns: column(s) listed twice: {string.Join(", ", duplicate)}";
            return false;
        }
        if (columns.Count == 0)
        {
            error = "--columns: no column named; give a comma-separated list such as hostname,tcpInfoRtt";
            return false;
        }
        selection = new ColumnSelection(columns);
        return true;
    }
}
