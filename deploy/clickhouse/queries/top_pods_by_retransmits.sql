-- Which pods' connections retransmit most? The last hour: per connection its latest lifetime retransmission
-- count (see top_connections_by_retransmits.sql), summed per pod. Rows without a pod (host processes,
-- plain containers) are left out; group by netns instead to see those.
SELECT
    pod_uid,
    any(netns) AS netns,
    uniqExactIf(container_id, container_id != '') AS containers,
    count() AS connections,
    countIf(connection_total_retrans > 0) AS retransmitting_connections,
    sum(connection_total_retrans) AS total_retrans,
    sum(connection_retrans_in_window) AS retrans_in_window
FROM
(
    SELECT
        pod_uid,
        any(netns) AS netns,
        any(container_id) AS container_id,
        max(tcp_info_total_retrans) AS connection_total_retrans,
        max(tcp_info_total_retrans) - min(tcp_info_total_retrans) AS connection_retrans_in_window
    FROM xtcp.xtcp_flat_records
    WHERE timestamp_ns >= now() - INTERVAL 1 HOUR AND pod_uid != ''
    GROUP BY pod_uid, hostname, netns_inode, inet_diag_msg_socket_cookie
)
GROUP BY pod_uid
ORDER BY total_retrans DESC, pod_uid
LIMIT 20;
