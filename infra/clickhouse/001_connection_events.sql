-- Raw connection events (one row per ConnectionEvent).
-- ReplacingMergeTree over (server, time, id): a re-delivered event has the same key, so it
-- collapses on merge; exact counts before merges read with FINAL (or uniqExact(id)).
-- TTL counts from ingestion, not event time, so analysing an old log file does not
-- delete its events on the next merge. {{ttl_days}} is replaced from store.ttlDays and
-- kept in sync by `migrate` (ALTER ... MODIFY TTL) when the setting changes.
CREATE TABLE IF NOT EXISTS connection_events
(
    id              String,
    server          LowCardinality(String),
    time            DateTime64(3, 'UTC'),
    outcome         LowCardinality(String),
    category        LowCardinality(String),   -- '' unless outcome = 'failed'
    reason          LowCardinality(String),
    sqlstate        LowCardinality(String),
    user            String,
    database        String,
    client_ip       String,
    client_port     UInt16,
    application     String,
    tls_protocol    LowCardinality(String),
    pid             UInt32,
    message         String CODEC(ZSTD(3)),
    source_kind     LowCardinality(String),
    source_name     LowCardinality(String),
    source_position String,
    ingested_at     DateTime('UTC') DEFAULT now()
)
ENGINE = ReplacingMergeTree
PARTITION BY toDate(time)
ORDER BY (server, time, id)
TTL ingested_at + INTERVAL {{ttl_days}} DAY;
