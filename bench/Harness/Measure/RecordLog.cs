using System.Text.Json;

namespace XtcpEpoll.Bench.Harness.Measure;

/// <summary>
/// Reads the collector's jsonl output (one record per socket per line) and keeps only what the churn check
/// needs: per poll (timestampNs) the namespaces seen, by name (with their record counts) and inode, and
/// whether a record was marked dumpIncomplete; and, for a <see cref="SocketWatch"/>, the polls each of its
/// sockets was in. Destroy-event records (recordOrigin 1) are stamped with the
/// time they were read, not a poll's: they are counted apart and belong to no poll.
/// </summary>
internal sealed class RecordLog
{
    public SortedDictionary<long, PollSeen> Polls { get; } = new();
    public long Records { get; private set; }
    public long DestroyRecords { get; private set; }
    public long Unparsable { get; private set; }

    internal sealed class PollSeen
    {
        /// <summary>Records per namespace name in this poll.</summary>
        public Dictionary<string, int> Names { get; } = new(StringComparer.Ordinal);
        public HashSet<ulong> Inodes { get; } = new();
        public bool Incomplete { get; set; }
    }

    private SocketWatch? _watch;

    /// <param name="watch">Sockets to look for: each poll (not destroy record) that has one is noted in it.</param>
    public static RecordLog Read(string path, SocketWatch? watch = null)
    {
        var log = new RecordLog { _watch = watch };
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1 << 20);
        var buffer = new byte[1 << 20];
        int filled = 0;
        while (true)
        {
            int read = fs.Read(buffer, filled, buffer.Length - filled);
            if (read == 0) break;
            filled += read;
            int start = 0;
            for (int i = 0; i < filled; i++)
            {
                if (buffer[i] != (byte)'\n') continue;
                log.ParseLine(buffer.AsSpan(start, i - start));
                start = i + 1;
            }
            Buffer.BlockCopy(buffer, start, buffer, 0, filled - start);
            filled -= start;
            if (filled == buffer.Length) Array.Resize(ref buffer, buffer.Length * 2); // a line longer than the buffer
        }
        if (filled > 0) log.ParseLine(buffer.AsSpan(0, filled));
        return log;
    }

    private void ParseLine(ReadOnlySpan<byte> line)
    {
        if (line.Trim((byte)' ').Length == 0) return;
        string? name = null; ulong inode = 0; long ts = 0; bool incomplete = false; ulong origin = 0, sport = 0, dport = 0;
        try
        {
            var reader = new Utf8JsonReader(line);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) { Unparsable++; return; }
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("netns")) { reader.Read(); name = reader.GetString(); }
                else if (reader.ValueTextEquals("netnsInode")) { reader.Read(); inode = ReadUInt64(ref reader); }
                else if (reader.ValueTextEquals("timestampNs")) { reader.Read(); ts = (long)ReadUInt64(ref reader); }
                else if (reader.ValueTextEquals("dumpIncomplete")) { reader.Read(); incomplete = reader.TokenType == JsonTokenType.True; }
                else if (reader.ValueTextEquals("recordOrigin")) { reader.Read(); origin = ReadUInt64(ref reader); }
                else if (_watch != null && reader.ValueTextEquals("inetDiagMsgSocketSourcePort")) { reader.Read(); sport = ReadUInt64(ref reader); }
                else if (_watch != null && reader.ValueTextEquals("inetDiagMsgSocketDestinationPort")) { reader.Read(); dport = ReadUInt64(ref reader); }
                else { reader.Read(); reader.Skip(); }
            }
        }
        catch (JsonException) { Unparsable++; return; }
        Records++;
        if (origin == 1) { DestroyRecords++; return; }
        if (!Polls.TryGetValue(ts, out var poll)) Polls[ts] = poll = new PollSeen();
        if (name != null) poll.Names[name] = poll.Names.GetValueOrDefault(name) + 1;
        if (inode != 0) poll.Inodes.Add(inode);
        poll.Incomplete |= incomplete;
        if (name != null) _watch?.Saw(name, (ushort)sport, (ushort)dport, ts);
    }

    /// <summary>proto3 JSON writes 64-bit integers as strings; accept both.</summary>
    private static ulong ReadUInt64(ref Utf8JsonReader reader) =>
        reader.TokenType == JsonTokenType.String ? ulong.Parse(reader.GetString()!) : reader.GetUInt64();
}
