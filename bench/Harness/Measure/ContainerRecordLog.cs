using System.Text.Json;

namespace XtcpEpoll.Bench.Harness.Measure;

/// <summary>One record of the collector's jsonl output, reduced to what the container checks use.</summary>
internal readonly record struct SocketRecord(long TimestampNs, bool Destroy, ulong NetnsInode, bool DefaultNetns, int SourcePort, int DestinationPort,
    int State, string ContainerId, string Runtime);

/// <summary>
/// Reads the collector's jsonl output for the container soak: every record with its namespace, ports, state and
/// attribution (containerId, containerRuntime), strings interned (a few hundred distinct ids per hour).
/// </summary>
internal static class ContainerRecordLog
{
    public static (List<SocketRecord> Records, long Unparsable) Read(string path)
    {
        var records = new List<SocketRecord>();
        long unparsable = 0;
        var interned = new Dictionary<string, string>(StringComparer.Ordinal) { [""] = "" };
        using var reader = new StreamReader(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1 << 20));
        while (reader.ReadLine() is { } line)
        {
            if (line.Length == 0) continue;
            if (TryParse(line, interned, out var r)) records.Add(r);
            else unparsable++;
        }
        return (records, unparsable);
    }

    private static bool TryParse(string line, Dictionary<string, string> interned, out SocketRecord record)
    {
        record = default;
        long ts = 0; ulong origin = 0, inode = 0; int sport = 0, dport = 0, state = 0; string id = "", runtime = "", netns = "";
        try
        {
            var reader = new Utf8JsonReader(System.Text.Encoding.UTF8.GetBytes(line));
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("timestampNs")) { reader.Read(); ts = (long)UInt64(ref reader); }
                else if (reader.ValueTextEquals("recordOrigin")) { reader.Read(); origin = UInt64(ref reader); }
                else if (reader.ValueTextEquals("netnsInode")) { reader.Read(); inode = UInt64(ref reader); }
                else if (reader.ValueTextEquals("netns")) { reader.Read(); netns = reader.GetString() ?? ""; }
                else if (reader.ValueTextEquals("inetDiagMsgSocketSourcePort")) { reader.Read(); sport = (int)UInt64(ref reader); }
                else if (reader.ValueTextEquals("inetDiagMsgSocketDestinationPort")) { reader.Read(); dport = (int)UInt64(ref reader); }
                else if (reader.ValueTextEquals("inetDiagMsgState")) { reader.Read(); state = (int)UInt64(ref reader); }
                else if (reader.ValueTextEquals("containerId")) { reader.Read(); id = Intern(reader.GetString(), interned); }
                else if (reader.ValueTextEquals("containerRuntime")) { reader.Read(); runtime = Intern(reader.GetString(), interned); }
                else { reader.Read(); reader.Skip(); }
            }
        }
        catch (JsonException) { return false; }
        catch (FormatException) { return false; }
        record = new SocketRecord(ts, origin == 1, inode, netns == "default", sport, dport, state, id, runtime);
        return true;
    }

    private static string Intern(string? s, Dictionary<string, string> interned)
    {
        if (string.IsNullOrEmpty(s)) return "";
        if (!interned.TryGetValue(s, out var v)) interned[s] = v = s;
        return v;
    }

    /// <summary>proto3 JSON writes 64-bit integers as strings; accept both.</summary>
    private static ulong UInt64(ref Utf8JsonReader reader) =>
        reader.TokenType == JsonTokenType.String ? ulong.Parse(reader.GetString()!, System.Globalization.CultureInfo.InvariantCulture) : reader.GetUInt64();
}
