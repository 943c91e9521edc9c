using Google.Protobuf.WellKnownTypes;
using XtcpConfig.V1;

namespace XtcpEpoll.Host.Control;

/// <summary>
/// Our configuration as xtcp2's XtcpConfig (ConfigService Get/Set replies): the fields that have a counterpart
/// here; the others stay at their proto3 default (README, "gRPC compatibility with xtcp2").
/// </summary>
internal static class ConfigView
{
    public static XtcpConfig.V1.XtcpConfig From(ControlPlane plane)
    {
        var config = plane.Config;
        var sink = config.Output.Sink;
        var loop = config.Collector;
        return new XtcpConfig.V1.XtcpConfig
        {
            PollFrequency = Duration.FromTimeSpan(plane.Collector.Frequency),
            PollTimeout = Duration.FromTimeSpan(plane.Collector.Timeout),
            MaxLoops = (ulong)loop.MaxLoops,
            Netlinkers = (uint)loop.Workers,
            MarshalTo = sink.Marshal,
            Dest = sink.Dest,
            Topic = sink.Topic,
            KafkaCompression = sink.KafkaCompression,
            EnvelopeFlushThresholdBytes = (uint)Math.Min(uint.MaxValue, sink.EnvelopeFlushBytes),
            EnvelopeFlushThresholdRows = (uint)sink.EnvelopeFlushRows,
            CsvColumns = sink.Columns ?? "",
            Label = loop.Label,
            Tag = loop.Tag,
            Location = loop.Location,
            Hostname = loop.Hostname,
            DaemonVersion = loop.DaemonVersion,
            ResolveContainerId = loop.ContainerAttribution,
            PollJitterPct = (uint)loop.JitterPct,
            ReconcileFrequency = Duration.FromTimeSpan(loop.ReconcileInterval),
            GrpcPort = (uint)(plane.GrpcPort ?? 0),
        };
    }

    /// <summary>Fields of <paramref name="wanted"/> that differ from <paramref name="current"/>, except the live ones (poll_frequency, poll_timeout).</summary>
    public static List<string> FixedFieldsChanged(XtcpConfig.V1.XtcpConfig current, XtcpConfig.V1.XtcpConfig wanted)
    {
        var changed = new List<string>();
        foreach (var field in XtcpConfig.V1.XtcpConfig.Descriptor.Fields.InFieldNumberOrder())
        {
            if (field.FieldNumber is XtcpConfig.V1.XtcpConfig.PollFrequencyFieldNumber or XtcpConfig.V1.XtcpConfig.PollTimeoutFieldNumber) continue;
            if (!Equals(field.Accessor.GetValue(current), field.Accessor.GetValue(wanted))) changed.Add(field.Name);
        }
        return changed;
    }
}
