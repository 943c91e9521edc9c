namespace XtcpEpoll.Host.Config;

/// <summary>A configuration mistake, already phrased as the one line the operator sees (exit code 2).</summary>
public sealed class ConfigException(string message) : Exception(message);
