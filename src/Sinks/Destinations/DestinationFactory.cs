using Microsoft.Extensions.Logging;
using XtcpEpoll.Sinks.Batching;
using XtcpEpoll.Sinks.Marshal;

namespace XtcpEpoll.Sinks.Destinations;

/// <summary>Creates the destination a parsed --dest names.</summary>
public static class DestinationFactory
{
    public static IDestination Create(DestinationSpec spec, SinkOptions options, IEnvelopeMarshaller marshaller, ILogger logger) => spec.Kind switch
    {
        DestinationKind.Null => new NullDestination(),
        DestinationKind.Stdout => StreamWriteDestination.Stdout(logger),
        DestinationKind.File => StreamWriteDestination.File(spec.Path, options.FileAppend, logger),
        DestinationKind.Tcp => StreamSocketDestination.Tcp(spec.Host, spec.Port, options.ReconnectBackoffMax, logger),
        DestinationKind.Unix => StreamSocketDestination.Unix(spec.Path, options.ReconnectBackoffMax, logger),
        DestinationKind.Udp => DatagramDestination.Udp(spec.Host, spec.Port, options.UdpDatagramMaxBytes, logger),
        DestinationKind.Unixgram => DatagramDestination.Unixgram(spec.Path, options.UnixgramDatagramMaxBytes, logger),
        DestinationKind.Http => new HttpDestination(spec.Uri!, marshaller.ContentType, options, logger),
        DestinationKind.Kafka => new KafkaDestination(spec.Brokers, options, logger),
        _ => throw new ArgumentException("unsupported destination " + spec.Text),
    };
}
