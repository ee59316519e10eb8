-- Failures per server x category x event-time window. A late event re-emits the window with
-- revision + 1; ReplacingMergeTree(revision) keeps the highest, and readers use FINAL
-- (or argMax(..., revision)) so the count is exact before merges and never summed twice.
CREATE TABLE IF NOT EXISTS window_counts
(
    server           LowCardinality(String),
    category         LowCardinality(String),
    window_start     DateTime64(3, 'UTC'),
    window_end       DateTime64(3, 'UTC'),
    failures         UInt32,
    attempts         UInt32,
    distinct_clients UInt32,
    first_failure    DateTime64(3, 'UTC'),
    last_failure     DateTime64(3, 'UTC'),
    reasons          Array(Tuple(value String, count UInt32)),
    top_clients      Array(Tuple(value String, count UInt32)),
    top_users        Array(Tuple(value String, count UInt32)),
    top_databases    Array(Tuple(value String, count UInt32)),
    revision         UInt32,
    ingested_at      DateTime('UTC') DEFAULT now()
)
ENGINE = ReplacingMergeTree(revision)
PARTITION BY toYYYYMM(window_start)
ORDER BY (server, category, window_start, window_end);
