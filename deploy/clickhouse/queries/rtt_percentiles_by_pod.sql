-- Smoothed RTT percentiles per pod over the last hour, in milliseconds (as rtt_percentiles_by_namespace.sql,
-- grouped by the pod the socket belongs to; sockets of no pod are left out).
SELECT
    pod_uid,
    any(netns) AS netns,
    count() AS samples,
    uniqExact(hostname, netns_inode, inet_diag_msg_socket_cookie) AS connections,
    arrayMap(x -> round(x / 1000, 3), quantiles(0.5, 0.9, 0.99)(tcp_info_rtt)) AS rtt_ms_p50_p90_p99,
    round(max(tcp_info_rtt) / 1000, 3) AS rtt_ms_max
FROM xtcp.xtcp_flat_records
WHERE timestamp_ns >= now() - INTERVAL 1 HOUR
  AND pod_uid != '' AND record_origin = 0 AND inet_diag_msg_state = 1 AND tcp_info_rtt > 0
GROUP BY pod_uid
ORDER BY rtt_ms_p50_p90_p99[3] DESC, pod_uid
LIMIT 50;
