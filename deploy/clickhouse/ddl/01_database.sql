-- xtcp-epoll ClickHouse schema, step 1 of 4: the database (same name as xtcp2's, so its queries run unchanged).
CREATE DATABASE IF NOT EXISTS xtcp;
