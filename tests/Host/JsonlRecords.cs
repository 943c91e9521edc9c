using System.Text.Json;

namespace XtcpEpoll.Tests.Host;

/// <summary>Reads jsonl records (proto3 JSON names) back for assertions.</summary>
internal static class JsonlRecords
{
    public sealed record Row(long TimestampNs, string Netns, int SourcePort, int State);

    public static List<Row> Parse(IEnumerable<string> lines)
    {
        var rows = new List<Row>();
        foreach (var line in lines)
        {
            if (string.IsNullOrWhiteSpace(line)) continue;
            using var doc = JsonDocument.Parse(line);
            var root = doc.RootElement;
            rows.Add(new Row(
                Long(root, "timestampNs"),
                root.TryGetProperty("netns", out var netns) ? netns.GetString() ?? "" : "",
                (int)Long(root, "inetDiagMsgSocketSourcePort"),
                (int)Long(root, "inetDiagMsgState")));
        }
        return rows;
    }

    /// <summary>proto3 JSON writes 64-bit integers as strings and omits zero values.</summary>
    private static long Long(JsonElement root, string name)
    {
        if (!root.TryGetProperty(name, out var value)) return 0;
        return value.ValueKind == JsonValueKind.String ? long.Parse(value.GetString()!) : value.GetInt64();
    }
}
