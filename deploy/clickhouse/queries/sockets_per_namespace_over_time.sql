-- TCP sockets per namespace over the last 6 hours, per minute. A poll's rows of one namespace share its
-- timestamp_ns, so count() per timestamp is that poll's socket count; each minute shows the largest poll
-- (and its established and listening sockets). Destroy records are not sockets of a poll and are left out.
SELECT
    minute,
    hostname,
    netns,
    netns_inode,
    max(sockets) AS sockets,
    max(established) AS established,
    max(listening) AS listening,
    count() AS polls
FROM
(
    SELECT
        toStartOfMinute(timestamp_ns) AS minute,
        hostname,
        netns,
        netns_inode,
        count() AS sockets,
        countIf(inet_diag_msg_state = 1) AS established,
        countIf(inet_diag_msg_state = 10) AS listening
    FROM xtcp.xtcp_flat_records
    WHERE record_origin = 0 AND timestamp_ns >= now() - INTERVAL 6 HOUR
    GROUP BY minute, hostname, netns, netns_inode, timestamp_ns
)
GROUP BY minute, hostname, netns, netns_inode
ORDER BY minute, hostname, netns;
