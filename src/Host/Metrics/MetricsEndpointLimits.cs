namespace XtcpEpoll.Host.Metrics;

/// <summary>
/// What one client may cost the metrics endpoint. The loop never waits on a client, so these bound
/// resources (fds, buffers, slots), not latency: a stalled client costs a slot until its deadline and
/// nothing else. The defaults are what the daemon runs with; tests shorten the deadlines.
/// </summary>
public sealed record MetricsEndpointLimits
{
    public static readonly MetricsEndpointLimits Default = new();

    /// <summary>
    /// Connections served at once. A fleet scrapes with 1-3 Prometheus servers plus a liveness and a
    /// readiness probe, each one connection at a time that lasts about a millisecond; 64 is 10x that, and
    /// caps what the endpoint can hold at 64 fds (of the 20,000 per process the namespace sockets need, one
    /// each) and 64 request buffers. Beyond it a connection is accepted and closed at once, and counted.
    /// </summary>
    public int MaxConnections { get; init; } = 64;

    /// <summary>
    /// Time from accept to a complete request head. Prometheus, curl and kubelet send the whole head in their
    /// first segment right after the handshake; 5 s still covers that segment lost and retransmitted several
    /// times (RTO 0.2 s doubling: 0.2+0.4+0.8+1.6 = 3 s) while giving back the slot of a client that stalls.
    /// Expiry: "408 Request Timeout" if it fits the socket buffer, then close.
    /// </summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Time from a complete request to the last byte of the response handed to the kernel. 10 s is
    /// Prometheus's default scrape_timeout: a scraper that has not taken the body by then has given up. Only
    /// a response larger than the socket buffers (MBs on loopback) can wait at all. Expiry: RST, so the
    /// unsent response is freed at once instead of lingering in an orphaned socket.
    /// </summary>
    public TimeSpan ResponseTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Largest request head (request line + headers). Prometheus sends ~250 bytes; 8 KiB is the common server
    /// default (nginx's large header buffer, Apache's field limit). Beyond it: "431 Request Header Fields
    /// Too Large", then close.
    /// </summary>
    public int MaxRequestHeadBytes { get; init; } = 8192;

    /// <summary>One-line reason the limits are unusable, or null.</summary>
    public string? Validate() =>
        MaxConnections < 1 ? "MaxConnections must be at least 1"
        : RequestTimeout <= TimeSpan.Zero || ResponseTimeout <= TimeSpan.Zero ? "timeouts must be positive"
        : MaxRequestHeadBytes < 64 ? "MaxRequestHeadBytes must be at least 64"
        : null;
}
