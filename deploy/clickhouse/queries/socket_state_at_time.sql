-- The state of every live TCP socket at time `at`, right for streams written with --emit changed as well as
-- --emit all. Under --emit changed a socket is sent only when it changed, at first sight and once per
-- --keyframe-interval (record_reason 1-3), so its state at `at` is its latest record at or before `at`,
-- looking back one keyframe interval: `lookback` = --keyframe-interval x 1.25 (poll ticks jitter by up to
-- --jitter-pct, 20 %) + --frequency = 760 s for the defaults (10m, 10s). A socket whose latest record is its
-- destroy record (record_origin 1) was closed by `at` and is left out. The counters and state shown are
-- those --emit changed compares; fields that move with time alone (tcp_info_last_data_sent, ...) are as of
-- the socket's latest record, not of `at`.
WITH
    now64(9, 'UTC') AS at,
    toIntervalSecond(760) AS lookback
SELECT
    hostname,
    netns,
    netns_inode,
    inet_diag_msg_socket_cookie AS cookie,
    source_address,
    inet_diag_msg_socket_source_port AS source_port,
    destination_address,
    inet_diag_msg_socket_destination_port AS destination_port,
    inet_diag_msg_state AS state,
    tcp_info_bytes_acked AS bytes_acked,
    tcp_info_bytes_received AS bytes_received,
    tcp_info_total_retrans AS total_retrans,
    tcp_info_rtt AS rtt_us,
    tcp_info_snd_cwnd AS cwnd,
    pod_uid
FROM
(
    SELECT *, source_address, destination_address
    FROM xtcp.xtcp_flat_records
    WHERE timestamp_ns > at - lookback AND timestamp_ns <= at
    ORDER BY timestamp_ns DESC
    LIMIT 1 BY hostname, netns_inode, inet_diag_msg_socket_cookie
)
WHERE record_origin = 0
ORDER BY hostname, netns_inode, cookie;
