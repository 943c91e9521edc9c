using System.Buffers;
using System.Buffers.Text;
using XtcpEpoll.Sinks.Records;

namespace XtcpEpoll.Sinks.Marshal;

/// <summary>
/// csv (RFC 4180 quoting) or tsv (backslash escapes) with a header line written once per process
/// (per marshaller instance). Values are humanised: addresses as text, TCP states by name,
/// congestion enum by short name, timestamp as RFC 3339 UTC. Fields the record does not carry (an
/// attribute the kernel did not send, enrichment we do not fill) are empty cells.
/// </summary>
public sealed class DelimitedMarshaller : IEnvelopeMarshaller
{
    public const string CsvName = "csv";
    public const string TsvName = "tsv";

    private readonly byte _separator;
    private readonly ColumnSelection _columns;
    private readonly byte[] _header;
    private bool _headerWritten;
    private int _rowEnd;
    // Per-row scratch: cell text bytes and each column's (start, length); reused for every row.
    private byte[] _cells = new byte[4096];
    private readonly int[] _cellStart, _cellLength;

    public DelimitedMarshaller(bool tabSeparated, ColumnSelection columns)
    {
        _separator = tabSeparated ? (byte)'\t' : (byte)',';
        Name = tabSeparated ? TsvName : CsvName;
        ContentType = tabSeparated ? "text/tab-separated-values" : "text/csv";
        _columns = columns;
        _cellStart = new int[columns.Columns.Count];
        _cellLength = new int[columns.Columns.Count];
        var names = new List<string>(columns.Columns.Count);
        foreach (var c in columns.Columns) names.Add(c.JsonName);
        _header = System.Text.Encoding.UTF8.GetBytes(string.Join((char)_separator, names) + "\n");
    }

    public string Name { get; }
    public string ContentType { get; }
    public SplitMode Split => SplitMode.Lines;

    public void Write(ReadOnlySpan<FlatRecord> records, ReadOnlySpan<int> recordSizes, IBufferWriter<byte> output)
    {
        if (!_headerWritten && records.Length > 0)
        {
            output.Write(_header);
            _headerWritten = true;
        }
        for (var i = 0; i < records.Length; i++)
        {
            Array.Clear(_cellLength);
            _rowEnd = 0;
            var visitor = new CellVisitor(this);
            FlatRecordFields.Visit(ref visitor, in records[i]);
            WriteRow(output);
        }
    }

    private void WriteRow(IBufferWriter<byte> output)
    {
        var count = _cellLength.Length;
        for (var c = 0; c < count; c++)
        {
            var cell = _cells.AsSpan(_cellStart[c], _cellLength[c]);
            var span = output.GetSpan(cell.Length + 1);
            cell.CopyTo(span);
            span[cell.Length] = c == count - 1 ? (byte)'\n' : _separator;
            output.Advance(cell.Length + 1);
        }
    }

    /// <summary>Reserves room for a cell of at most <paramref name="maxLength"/> bytes after the row's last cell.</summary>
    private Span<byte> BeginCell(int maxLength, out int start)
    {
        start = _rowEnd;
        if (_cells.Length < start + maxLength)
            Array.Resize(ref _cells, Math.Max(_cells.Length * 2, start + maxLength));
        return _cells.AsSpan(start, maxLength);
    }

    private void EndCell(int column, int start, int length)
    {
        _cellStart[column] = start;
        _cellLength[column] = length;
        _rowEnd = start + length;
    }

    private void Number(int field, ulong value)
    {
        var column = _columns.ColumnOfField[field];
        if (column < 0) return;
        var span = BeginCell(20, out var start);
        Utf8Formatter.TryFormat(value, span, out var n);
        EndCell(column, start, n);
    }

    private void Text(int field, ReadOnlySpan<byte> text, bool mayNeedEscape)
    {
        var column = _columns.ColumnOfField[field];
        if (column < 0 || text.Length == 0) return;
        var span = BeginCell(text.Length * 2 + 2, out var start);
        var n = mayNeedEscape ? Escape(text, span) : Copy(text, span);
        EndCell(column, start, n);
    }

    private static int Copy(ReadOnlySpan<byte> text, Span<byte> span)
    {
        text.CopyTo(span);
        return text.Length;
    }

    private int Escape(ReadOnlySpan<byte> text, Span<byte> d)
    {
        if (_separator == (byte)'\t')
        {
            var p = 0;
            foreach (var b in text)
            {
                switch (b)
                {
                    case (byte)'\t': d[p++] = (byte)'\\'; d[p++] = (byte)'t'; break;
                    case (byte)'\n': d[p++] = (byte)'\\'; d[p++] = (byte)'n'; break;
                    case (byte)'\r': d[p++] = (byte)'\\'; d[p++] = (byte)'r'; break;
                    case (byte)'\\': d[p++] = (byte)'\\'; d[p++] = (byte)'\\'; break;
                    default: d[p++] = b; break;
                }
            }
            return p;
        }
        if (text.IndexOfAny((byte)',', (byte)'"', (byte)'\n') < 0 && text.IndexOf((byte)'\r') < 0)
            return Copy(text, d);
        var q = 0;
        d[q++] = (byte)'"';
        foreach (var b in text)
        {
            if (b == (byte)'"') d[q++] = (byte)'"';
            d[q++] = b;
        }
        d[q++] = (byte)'"';
        return q;
    }

    private static ReadOnlySpan<byte> TcpStateName(uint state) => state switch
    {
        1 => "ESTABLISHED"u8, 2 => "SYN_SENT"u8, 3 => "SYN_RECV"u8, 4 => "FIN_WAIT1"u8, 5 => "FIN_WAIT2"u8,
        6 => "TIME_WAIT"u8, 7 => "CLOSE"u8, 8 => "CLOSE_WAIT"u8, 9 => "LAST_ACK"u8, 10 => "LISTEN"u8,
        11 => "CLOSING"u8, 12 => "NEW_SYN_RECV"u8, 13 => "BOUND_INACTIVE"u8, _ => default,
    };

    private static ReadOnlySpan<byte> CongestionShortName(int value) => value switch
    {
        1 => "cubic"u8, 2 => "dctcp"u8, 3 => "vegas"u8, 4 => "prague"u8, 5 => "bbr1"u8, 6 => "bbr2"u8, 7 => "bbr3"u8,
        _ => "unspecified"u8,
    };

    private readonly struct CellVisitor(DelimitedMarshaller m) : IRecordFieldVisitor
    {
        public void UInt32(int field, uint value)
        {
            if (field is 1002 or 1201)
            {
                var name = TcpStateName(value);
                if (!name.IsEmpty) { m.Text(field, name, false); return; }
            }
            m.Number(field, value);
        }

        public void UInt64(int field, ulong value) => m.Number(field, value);

        public void Int64(int field, long value)
        {
            var column = m._columns.ColumnOfField[field];
            if (column < 0) return;
            var span = m.BeginCell(40, out var start);
            int n;
            if (field == 10)
            {
                // timestamp_ns: RFC 3339 UTC with 100 ns resolution (DateTime's tick).
                var time = DateTime.UnixEpoch.AddTicks(value / 100);
                Utf8Formatter.TryFormat(time, span, out n, new StandardFormat('O'));
            }
            else
            {
                Utf8Formatter.TryFormat(value, span, out n);
            }
            m.EndCell(column, start, n);
        }

        public void Bool(int field, bool value) => m.Text(field, value ? "true"u8 : "false"u8, false);

        public void Enum(int field, int value) => m.Text(field, CongestionShortName(value), false);

        public void String(int field, ReadOnlySpan<byte> utf8) => m.Text(field, utf8, true);

        public void Address(int field, byte family, ReadOnlySpan<byte> raw16)
        {
            Span<byte> text = stackalloc byte[IpText.MaxLength];
            m.Text(field, text.Slice(0, IpText.Format(family, raw16, text)), false);
        }
    }
}
