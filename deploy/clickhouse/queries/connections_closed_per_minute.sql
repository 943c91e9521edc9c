-- Connections closed per minute over the last hour, per host: one destroy record (record_origin = 1, the
-- kernel's TCP destroy event with the socket's final counters) per closed socket, at the time it closed.
-- Polls alone cannot give this exactly (a socket opened and closed between two polls is never seen).
SELECT
    toStartOfMinute(timestamp_ns) AS minute,
    hostname,
    count() AS closed,
    uniqExact(netns_inode) AS namespaces,
    countIf(tcp_info_total_retrans > 0) AS closed_after_retransmits,
    sum(tcp_info_bytes_acked) AS bytes_acked,
    sum(tcp_info_bytes_received) AS bytes_received
FROM xtcp.xtcp_flat_records
WHERE record_origin = 1 AND timestamp_ns >= now() - INTERVAL 1 HOUR
GROUP BY minute, hostname
ORDER BY minute, hostname;
