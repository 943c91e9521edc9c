-- Smoothed RTT (tcp_info_rtt, microseconds) percentiles per namespace over the last hour, in milliseconds:
-- every poll sample of every established socket (state 1) that has an RTT estimate.
-- quantiles() is exact up to 8,192 samples per group and a uniform reservoir sample beyond.
SELECT
    hostname,
    netns,
    netns_inode,
    count() AS samples,
    uniqExact(inet_diag_msg_socket_cookie) AS connections,
    arrayMap(x -> round(x / 1000, 3), quantiles(0.5, 0.9, 0.99)(tcp_info_rtt)) AS rtt_ms_p50_p90_p99,
    round(max(tcp_info_rtt) / 1000, 3) AS rtt_ms_max
FROM xtcp.xtcp_flat_records
WHERE timestamp_ns >= now() - INTERVAL 1 HOUR
  AND record_origin = 0 AND inet_diag_msg_state = 1 AND tcp_info_rtt > 0
GROUP BY hostname, netns, netns_inode
ORDER BY rtt_ms_p50_p90_p99[3] DESC, hostname, netns
LIMIT 50;
