-- xtcp-epoll ClickHouse schema, step 3 of 4: where the records are kept.
--
-- xtcp.xtcp_flat_records_v1  MergeTree of every schema_version = 1 record (ours and xtcp2's: same content).
-- xtcp.xtcp_flat_records     Merge over every xtcp_flat_records_vN table: what queries read. A later format
--                            epoch adds a _vN table and its MV, and queries keep working.
-- The columns of the Kafka table (02_kafka.sql; the test suite checks both lists against the proto), with
-- timestamp_ns stored as DateTime64(9), plus text forms of the two addresses computed when read.

CREATE TABLE IF NOT EXISTS xtcp.xtcp_flat_records_v1
(
    -- 1: record format
    schema_version                                  UInt32 CODEC(LZ4),
    daemon_version                                  LowCardinality(String),
    -- 10: poll time
    timestamp_ns                                    DateTime64(9, 'UTC') CODEC(DoubleDelta, LZ4),
    -- 20: host
    hostname                                        LowCardinality(String),
    location                                        LowCardinality(String),
    -- 30: network namespace
    netns                                           String CODEC(ZSTD),
    netns_inode                                     UInt64 CODEC(ZSTD),
    nsid                                            UInt32 CODEC(LZ4),
    -- 40: container (filled by cgroup/pod attribution, --container-attribution; empty for a socket of no container)
    container_id                                    String CODEC(ZSTD),
    container_runtime                               LowCardinality(String),
    container_name                                  LowCardinality(String),
    container_image                                 LowCardinality(String),
    -- 50: free-form labels
    label                                           LowCardinality(String),
    tag                                             LowCardinality(String),
    -- 60: record bookkeeping
    record_counter                                  UInt64 CODEC(DoubleDelta, LZ4),
    socket_fd                                       UInt64 CODEC(LZ4),
    netlinker_id                                    UInt64 CODEC(LZ4),
    -- 100: uplink 1 (xtcp2 enrichment; empty here)
    uplink1_ifname                                  LowCardinality(String),
    uplink1_nic_driver                              LowCardinality(String),
    uplink1_nic_model                               LowCardinality(String),
    uplink1_nic_pci_vendor                          UInt32 CODEC(LZ4),
    uplink1_nic_pci_device                          UInt32 CODEC(LZ4),
    uplink1_nic_bus_info                            LowCardinality(String),
    uplink1_nic_speed_mbps                          UInt32 CODEC(LZ4),
    uplink1_nic_fw_version                          LowCardinality(String),
    uplink1_lldp_chassis_name                       LowCardinality(String),
    uplink1_lldp_chassis_id                         LowCardinality(String),
    uplink1_lldp_mgmt_ip                            LowCardinality(String),
    uplink1_lldp_port_id                            LowCardinality(String),
    uplink1_lldp_port_descr                         LowCardinality(String),
    -- 200: uplink 2 (xtcp2 enrichment; empty here)
    uplink2_ifname                                  LowCardinality(String),
    uplink2_nic_driver                              LowCardinality(String),
    uplink2_nic_model                               LowCardinality(String),
    uplink2_nic_pci_vendor                          UInt32 CODEC(LZ4),
    uplink2_nic_pci_device                          UInt32 CODEC(LZ4),
    uplink2_nic_bus_info                            LowCardinality(String),
    uplink2_nic_speed_mbps                          UInt32 CODEC(LZ4),
    uplink2_nic_fw_version                          LowCardinality(String),
    uplink2_lldp_chassis_name                       LowCardinality(String),
    uplink2_lldp_chassis_id                         LowCardinality(String),
    uplink2_lldp_mgmt_ip                            LowCardinality(String),
    uplink2_lldp_port_id                            LowCardinality(String),
    uplink2_lldp_port_descr                         LowCardinality(String),
    -- 1001: inet_diag_msg
    inet_diag_msg_family                            UInt32 CODEC(LZ4),
    inet_diag_msg_state                             UInt32 CODEC(LZ4),
    inet_diag_msg_timer                             UInt32 CODEC(LZ4),
    inet_diag_msg_retrans                           UInt32 CODEC(LZ4),
    inet_diag_msg_socket_source_port                UInt32 CODEC(LZ4),
    inet_diag_msg_socket_destination_port           UInt32 CODEC(LZ4),
    inet_diag_msg_socket_source                     String CODEC(ZSTD),
    inet_diag_msg_socket_destination                String CODEC(ZSTD),
    inet_diag_msg_socket_interface                  UInt32 CODEC(LZ4),
    inet_diag_msg_socket_cookie                     UInt64 CODEC(LZ4),
    inet_diag_msg_socket_dest_asn                   UInt64 CODEC(LZ4),
    inet_diag_msg_socket_next_hop_asn               UInt64 CODEC(LZ4),
    inet_diag_msg_expires                           UInt32 CODEC(LZ4),
    inet_diag_msg_rqueue                            UInt32 CODEC(LZ4),
    inet_diag_msg_wqueue                            UInt32 CODEC(LZ4),
    inet_diag_msg_uid                               UInt32 CODEC(LZ4),
    inet_diag_msg_inode                             UInt32 CODEC(LZ4),
    -- 1101: INET_DIAG_MEMINFO
    mem_info_rmem                                   UInt32 CODEC(LZ4),
    mem_info_wmem                                   UInt32 CODEC(LZ4),
    mem_info_fmem                                   UInt32 CODEC(LZ4),
    mem_info_tmem                                   UInt32 CODEC(LZ4),
    -- 1201: INET_DIAG_INFO: struct tcp_info
    tcp_info_state                                  UInt32 CODEC(LZ4),
    tcp_info_ca_state                               UInt32 CODEC(LZ4),
    tcp_info_retransmits                            UInt32 CODEC(LZ4),
    tcp_info_probes                                 UInt32 CODEC(LZ4),
    tcp_info_backoff                                UInt32 CODEC(LZ4),
    tcp_info_options                                UInt32 CODEC(LZ4),
    tcp_info_send_scale                             UInt32 CODEC(LZ4),
    tcp_info_rcv_scale                              UInt32 CODEC(LZ4),
    tcp_info_delivery_rate_app_limited              UInt32 CODEC(LZ4),
    tcp_info_fast_open_client_failed                UInt32 CODEC(LZ4),
    tcp_info_rto                                    UInt32 CODEC(LZ4),
    tcp_info_ato                                    UInt32 CODEC(LZ4),
    tcp_info_snd_mss                                UInt32 CODEC(LZ4),
    tcp_info_rcv_mss                                UInt32 CODEC(LZ4),
    tcp_info_unacked                                UInt32 CODEC(LZ4),
    tcp_info_sacked                                 UInt32 CODEC(LZ4),
    tcp_info_lost                                   UInt32 CODEC(LZ4),
    tcp_info_retrans                                UInt32 CODEC(LZ4),
    tcp_info_fackets                                UInt32 CODEC(LZ4),
    tcp_info_last_data_sent                         UInt32 CODEC(LZ4),
    tcp_info_last_ack_sent                          UInt32 CODEC(LZ4),
    tcp_info_last_data_recv                         UInt32 CODEC(LZ4),
    tcp_info_last_ack_recv                          UInt32 CODEC(LZ4),
    tcp_info_pmtu                                   UInt32 CODEC(LZ4),
    tcp_info_rcv_ssthresh                           UInt32 CODEC(LZ4),
    tcp_info_rtt                                    UInt32 CODEC(LZ4),
    tcp_info_rtt_var                                UInt32 CODEC(LZ4),
    tcp_info_snd_ssthresh                           UInt32 CODEC(LZ4),
    tcp_info_snd_cwnd                               UInt32 CODEC(LZ4),
    tcp_info_adv_mss                                UInt32 CODEC(LZ4),
    tcp_info_reordering                             UInt32 CODEC(LZ4),
    tcp_info_rcv_rtt                                UInt32 CODEC(LZ4),
    tcp_info_rcv_space                              UInt32 CODEC(LZ4),
    tcp_info_total_retrans                          UInt32 CODEC(LZ4),
    tcp_info_pacing_rate                            UInt64 CODEC(LZ4),
    tcp_info_max_pacing_rate                        UInt64 CODEC(LZ4),
    tcp_info_bytes_acked                            UInt64 CODEC(LZ4),
    tcp_info_bytes_received                         UInt64 CODEC(LZ4),
    tcp_info_segs_out                               UInt32 CODEC(LZ4),
    tcp_info_segs_in                                UInt32 CODEC(LZ4),
    tcp_info_not_sent_bytes                         UInt32 CODEC(LZ4),
    tcp_info_min_rtt                                UInt32 CODEC(LZ4),
    tcp_info_data_segs_in                           UInt32 CODEC(LZ4),
    tcp_info_data_segs_out                          UInt32 CODEC(LZ4),
    tcp_info_delivery_rate                          UInt64 CODEC(LZ4),
    tcp_info_busy_time                              UInt64 CODEC(LZ4),
    tcp_info_rwnd_limited                           UInt64 CODEC(LZ4),
    tcp_info_sndbuf_limited                         UInt64 CODEC(LZ4),
    tcp_info_delivered                              UInt32 CODEC(LZ4),
    tcp_info_delivered_ce                           UInt32 CODEC(LZ4),
    tcp_info_bytes_sent                             UInt64 CODEC(LZ4),
    tcp_info_bytes_retrans                          UInt64 CODEC(LZ4),
    tcp_info_dsack_dups                             UInt32 CODEC(LZ4),
    tcp_info_reord_seen                             UInt32 CODEC(LZ4),
    tcp_info_rcv_ooopack                            UInt32 CODEC(LZ4),
    tcp_info_snd_wnd                                UInt32 CODEC(LZ4),
    tcp_info_rcv_wnd                                UInt32 CODEC(LZ4),
    tcp_info_rehash                                 UInt32 CODEC(LZ4),
    tcp_info_total_rto                              UInt32 CODEC(LZ4),
    tcp_info_total_rto_recoveries                   UInt32 CODEC(LZ4),
    tcp_info_total_rto_time                         UInt32 CODEC(LZ4),
    -- 1300: INET_DIAG_CONG
    congestion_algorithm_string                     LowCardinality(String),
    congestion_algorithm_enum                       Enum8('' = 0, 'cubic' = 1, 'dctcp' = 2, 'vegas' = 3, 'prague' = 4, 'bbr1' = 5, 'bbr2' = 6, 'bbr3' = 7),
    -- 1401: INET_DIAG_TOS / TCLASS
    type_of_service                                 UInt32 CODEC(LZ4),
    traffic_class                                   UInt32 CODEC(LZ4),
    -- 1501: INET_DIAG_SKMEMINFO
    sk_mem_info_rmem_alloc                          UInt32 CODEC(LZ4),
    sk_mem_info_rcv_buf                             UInt32 CODEC(LZ4),
    sk_mem_info_wmem_alloc                          UInt32 CODEC(LZ4),
    sk_mem_info_snd_buf                             UInt32 CODEC(LZ4),
    sk_mem_info_fwd_alloc                           UInt32 CODEC(LZ4),
    sk_mem_info_wmem_queued                         UInt32 CODEC(LZ4),
    sk_mem_info_optmem                              UInt32 CODEC(LZ4),
    sk_mem_info_backlog                             UInt32 CODEC(LZ4),
    sk_mem_info_drops                               UInt32 CODEC(LZ4),
    -- 1600: INET_DIAG_SHUTDOWN
    shutdown_state                                  UInt32 CODEC(LZ4),
    -- 1701: INET_DIAG_VEGASINFO
    vegas_info_enabled                              UInt32 CODEC(LZ4),
    vegas_info_rtt_cnt                              UInt32 CODEC(LZ4),
    vegas_info_rtt                                  UInt32 CODEC(LZ4),
    vegas_info_min_rtt                              UInt32 CODEC(LZ4),
    -- 1801: INET_DIAG_DCTCPINFO
    dctcp_info_enabled                              UInt32 CODEC(LZ4),
    dctcp_info_ce_state                             UInt32 CODEC(LZ4),
    dctcp_info_alpha                                UInt32 CODEC(LZ4),
    dctcp_info_ab_ecn                               UInt32 CODEC(LZ4),
    dctcp_info_ab_tot                               UInt32 CODEC(LZ4),
    -- 1901: INET_DIAG_BBRINFO
    bbr_info_bw_lo                                  UInt32 CODEC(LZ4),
    bbr_info_bw_hi                                  UInt32 CODEC(LZ4),
    bbr_info_min_rtt                                UInt32 CODEC(LZ4),
    bbr_info_pacing_gain                            UInt32 CODEC(LZ4),
    bbr_info_cwnd_gain                              UInt32 CODEC(LZ4),
    -- 2001: CLASS_ID, SOCKOPT, CGROUP_ID
    class_id                                        UInt32 CODEC(LZ4),
    sock_opt                                        UInt32 CODEC(LZ4),
    c_group                                         UInt64 CODEC(LZ4),
    -- 3001: xtcp-epoll additions (not in xtcp2)
    mark                                            UInt32 CODEC(LZ4),
    dump_incomplete                                 Bool,
    record_origin                                   UInt8,
    pod_uid                                         LowCardinality(String),
    pod_name                                        LowCardinality(String),
    pod_namespace                                   LowCardinality(String),
    -- 3007: why the record was sent (0 snapshot, 1 changed, 2 keyframe, 3 first sight, 4 destroy)
    record_reason                                   UInt8,

    -- IPv4 (family 2): the first 4 bytes as a dotted quad; otherwise the 16 bytes as IPv6 (RFC 5952,
    -- ::ffff:a.b.c.d when IPv4-mapped). ALIAS: computed when read, not stored, not part of SELECT *.
    source_address String ALIAS if(inet_diag_msg_family = 2,
        IPv4NumToString(reinterpretAsUInt32(reverse(substring(inet_diag_msg_socket_source, 1, 4)))),
        IPv6NumToString(toFixedString(inet_diag_msg_socket_source, 16))),
    destination_address String ALIAS if(inet_diag_msg_family = 2,
        IPv4NumToString(reinterpretAsUInt32(reverse(substring(inet_diag_msg_socket_destination, 1, 4)))),
        IPv6NumToString(toFixedString(inet_diag_msg_socket_destination, 16)))
)
ENGINE = MergeTree
-- One partition per day: the TTL drops whole days, and time-bounded queries skip the rest.
PARTITION BY toYYYYMMDD(timestamp_ns)
-- Host, then namespace, then time: the operator queries (per namespace or pod over a window) read
-- contiguous ranges. (xtcp2 orders by time first.)
ORDER BY (hostname, netns_inode, timestamp_ns, inet_diag_msg_socket_cookie)
TTL toDateTime(timestamp_ns) + INTERVAL 30 DAY DELETE;

-- The query surface: read-only, spans every xtcp_flat_records_vN table (not _kafka, _errors or the MVs).
CREATE TABLE IF NOT EXISTS xtcp.xtcp_flat_records AS xtcp.xtcp_flat_records_v1
ENGINE = Merge('xtcp', '^xtcp_flat_records_v[0-9]+$');
