using System.Net;
using Microsoft.Extensions.Logging;
using XtcpEpoll.Loop;

namespace XtcpEpoll.Host.Config;

/// <summary>Where records go and how they are encoded (shared by collect and replay).</summary>
public sealed class OutputSettings
{
    public required string Dest { get; init; }
    public required bool FileAppend { get; init; }
    public required string Marshal { get; init; }
    public required string Topic { get; init; }
    public required string Columns { get; init; }
    public required long EnvelopeFlushBytes { get; init; }
    public required int EnvelopeFlushRows { get; init; }
    public required string KafkaCompression { get; init; }
    public required int KafkaQueueMaxEnvelopes { get; init; }
    public required long KafkaQueueMaxBytes { get; init; }
    public required int SinkQueueEnvelopes { get; init; }
    public required string Hostname { get; init; }
    public required string Label { get; init; }
    public required string Tag { get; init; }
    public required string Location { get; init; }
}

/// <summary>The validated, effective configuration of one `collect` run.</summary>
public sealed class CollectConfig
{
    public required CollectorOptions Collector { get; init; }
    public required OutputSettings Output { get; init; }
    /// <summary>Null when --metrics-listen is empty (listener disabled).</summary>
    public required IPEndPoint? MetricsListen { get; init; }
    public required LogLevel LogLevel { get; init; }
    public required TimeSpan ShutdownTimeout { get; init; }
    public required bool PrintConfig { get; init; }
    public required IReadOnlyList<KeyValuePair<string, string>> Effective { get; init; }
    /// <summary>Not errors, but worth one log line each at start (e.g. unknown XTCP_* variables).</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];
}

/// <summary>The validated configuration of one `replay` run.</summary>
public sealed class ReplayConfig
{
    public required IReadOnlyList<string> Files { get; init; }
    public required OutputSettings Output { get; init; }
    public required LogLevel LogLevel { get; init; }
    public required TimeSpan ShutdownTimeout { get; init; }
    public required bool PrintConfig { get; init; }
    public required IReadOnlyList<KeyValuePair<string, string>> Effective { get; init; }
}
