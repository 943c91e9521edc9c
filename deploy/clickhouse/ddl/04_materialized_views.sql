-- xtcp-epoll ClickHouse schema, step 4 of 4: the materialized views that move rows from the Kafka table
-- into storage. Creating them starts consumption.

-- Every parsed schema_version = 1 row. timestamp_ns arrives as Int64 Unix nanoseconds and is stored as
-- DateTime64(9): a number inserted straight into DateTime64 would be read as seconds. Columns are matched
-- by name, so the order of this SELECT does not matter.
CREATE MATERIALIZED VIEW IF NOT EXISTS xtcp.xtcp_flat_records_v1_mv TO xtcp.xtcp_flat_records_v1
AS SELECT
    fromUnixTimestamp64Nano(timestamp_ns) AS timestamp_ns,
    * EXCEPT (timestamp_ns)
FROM xtcp.xtcp_flat_records_kafka
WHERE length(_error) = 0 AND schema_version = 1;

-- Messages that did not parse (kafka_handle_error_mode = 'stream'), kept a day for diagnosis.
CREATE TABLE IF NOT EXISTS xtcp.xtcp_flat_records_errors
(
    observed_at DateTime DEFAULT now(),
    topic LowCardinality(String),
    partition UInt64,
    offset UInt64,
    error String CODEC(ZSTD),
    raw_message String CODEC(ZSTD)
)
ENGINE = MergeTree
ORDER BY observed_at
TTL observed_at + INTERVAL 1 DAY DELETE;

CREATE MATERIALIZED VIEW IF NOT EXISTS xtcp.xtcp_flat_records_errors_mv TO xtcp.xtcp_flat_records_errors
AS SELECT
    now() AS observed_at,
    _topic AS topic,
    _partition AS partition,
    _offset AS offset,
    _error AS error,
    _raw_message AS raw_message
FROM xtcp.xtcp_flat_records_kafka
WHERE length(_error) > 0;
