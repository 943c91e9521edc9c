-- Per-poll totals per namespace over the last hour (sockets, established, listening, bytes acked and
-- received), right for streams written with --emit changed as well as --emit all. Each poll record stands
-- for its socket until the socket's next record (a change, a keyframe, or its destroy record), and at most
-- `lookback` (--keyframe-interval x 1.25 + --frequency = 760 s for the defaults; see
-- socket_state_at_time.sql); the polls are the host's poll timestamps (every poll of a host with more
-- sockets than the keyframe interval has polls carries some record). A socket that disappears without a
-- destroy record (--destroy-events false, or events lost) is counted until `lookback` passes under
-- --emit changed; --emit all stops counting it at once.
WITH toIntervalSecond(760) AS lookback
SELECT
    poll,
    hostname,
    netns,
    netns_inode,
    count() AS sockets,
    countIf(state = 1) AS established,
    countIf(state = 10) AS listening,
    sum(bytes_acked) AS bytes_acked,
    sum(bytes_received) AS bytes_received
FROM
(
    SELECT
        hostname,
        netns,
        netns_inode,
        timestamp_ns,
        record_origin,
        inet_diag_msg_state AS state,
        tcp_info_bytes_acked AS bytes_acked,
        tcp_info_bytes_received AS bytes_received,
        least(timestamp_ns + lookback,
            leadInFrame(timestamp_ns, 1, toDateTime64('2100-01-01 00:00:00', 9, 'UTC')) OVER (
                PARTITION BY hostname, netns_inode, inet_diag_msg_socket_cookie ORDER BY timestamp_ns
                ROWS BETWEEN CURRENT ROW AND 1 FOLLOWING)) AS valid_until
    FROM xtcp.xtcp_flat_records
    WHERE timestamp_ns >= now() - INTERVAL 1 HOUR - lookback
) AS r
INNER JOIN
(
    SELECT hostname, groupUniqArray(timestamp_ns) AS polls
    FROM xtcp.xtcp_flat_records
    WHERE record_origin = 0 AND timestamp_ns >= now() - INTERVAL 1 HOUR
    GROUP BY hostname
) AS p ON r.hostname = p.hostname
ARRAY JOIN arrayFilter(t -> t >= r.timestamp_ns AND t < r.valid_until, p.polls) AS poll
WHERE r.record_origin = 0
GROUP BY poll, hostname, netns, netns_inode
ORDER BY poll, hostname, netns;
