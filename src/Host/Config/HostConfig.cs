using System.Net;
using Microsoft.Extensions.Logging;
using XtcpEpoll.Loop;
using XtcpEpoll.Sinks.Batching;

namespace XtcpEpoll.Host.Config;

/// <summary>Where records go, how they are encoded, and what is stamped on them (shared by collect and replay).</summary>
public sealed class OutputSettings
{
    /// <summary>Validated by its own rules (<see cref="SinkOptions.Validate"/>) before it gets here.</summary>
    public required SinkOptions Sink { get; init; }
    public required RecordStamp Stamp { get; init; }
}

/// <summary>The free text stamped on every record (limits: <see cref="Sinks.Records.RecordStampRules"/>).</summary>
public sealed class RecordStamp
{
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
    /// <summary>Where the gRPC control plane listens (nothing when both are off).</summary>
    public ControlSettings Control { get; init; } = new();
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
    /// <summary>Not errors, but worth one log line each at start (e.g. a secret file readable by others).</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];
}

/// <summary>The control plane's endpoints (daemon: where to listen; ctl/watch: where to connect).</summary>
public sealed class ControlSettings
{
    /// <summary>Null when --control-socket is empty.</summary>
    public string? SocketPath { get; init; }
    /// <summary>Null when --grpc-listen is empty.</summary>
    public IPEndPoint? TcpEndpoint { get; init; }
    public string? TlsCertFile { get; init; }
    public string? TlsKeyFile { get; init; }
    public string? TlsCaFile { get; init; }
    /// <summary>--stream-queue: records queued per stream client (daemon only).</summary>
    public int StreamQueueRecords { get; init; } = 8192;

    public bool Enabled => SocketPath != null || TcpEndpoint != null;
}
