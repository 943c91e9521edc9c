-- Which connections retransmit most? The last hour, one row per socket (host, namespace, socket cookie).
-- tcp_info_total_retrans is the socket's lifetime count (cumulative): total_retrans is its latest value,
-- retrans_in_window how much it grew within the window (0 for a socket seen once). A destroy record
-- (record_origin = 1) carries a closed socket's final counters, so connections that ended count too.
SELECT
    hostname,
    netns,
    pod_uid,
    inet_diag_msg_socket_cookie AS cookie,
    any(source_address) AS source,
    any(inet_diag_msg_socket_source_port) AS source_port,
    any(destination_address) AS destination,
    any(inet_diag_msg_socket_destination_port) AS destination_port,
    max(tcp_info_total_retrans) AS total_retrans,
    max(tcp_info_total_retrans) - min(tcp_info_total_retrans) AS retrans_in_window,
    max(tcp_info_bytes_retrans) AS bytes_retrans,
    count() AS samples
FROM xtcp.xtcp_flat_records
WHERE timestamp_ns >= now() - INTERVAL 1 HOUR
GROUP BY hostname, netns_inode, netns, pod_uid, cookie
HAVING total_retrans > 0
ORDER BY total_retrans DESC, retrans_in_window DESC, cookie
LIMIT 20;
