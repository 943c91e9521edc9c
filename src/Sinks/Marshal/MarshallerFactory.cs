namespace XtcpEpoll.Sinks.Marshal;

/// <summary>Creates the --marshal marshaller by name.</summary>
public static class MarshallerFactory
{
    public static readonly string[] Names =
    [
        ProtobufListMarshaller.MarshalName, JsonlMarshaller.MarshalName, ProtoJsonMarshaller.MarshalName,
        DelimitedMarshaller.CsvName, DelimitedMarshaller.TsvName,
    ];

    /// <summary>On failure <paramref name="error"/> is one line naming what to fix.</summary>
    public static bool TryCreate(string name, string? columns, out IEnvelopeMarshaller marshaller, out string error)
    {
        marshaller = null!;
        error = "";
        switch (name)
        {
            case ProtobufListMarshaller.MarshalName: marshaller = new ProtobufListMarshaller(); break;
            case JsonlMarshaller.MarshalName: marshaller = new JsonlMarshaller(); break;
            case ProtoJsonMarshaller.MarshalName: marshaller = new ProtoJsonMarshaller(); break;
            case DelimitedMarshaller.CsvName:
            case DelimitedMarshaller.TsvName:
                if (!ColumnSelection.TryParse(columns, out var selection, out error)) return false;
                marshaller = new DelimitedMarshaller(name == DelimitedMarshaller.TsvName, selection);
                break;
            default:
                error = $"--marshal: unknown marshaller '{name}'; use one of {string.Join(", ", Names)}";
                return false;
        }
        if (!string.IsNullOrWhiteSpace(columns) && marshaller is not DelimitedMarshaller)
        {
            error = $"--columns applies only to csv and tsv, not to {name}";
            marshaller = null!;
            return false;
        }
        return true;
    }
}
