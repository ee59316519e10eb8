-- Input a stage could not use. Keyed by (stage, id) rather than processing time: the same
-- bad record re-processed after a restart gets a new `time` but must not count twice.
CREATE TABLE IF NOT EXISTS dead_letters
(
    id              String,
    stage           LowCardinality(String),
    reason          String,
    raw             String CODEC(ZSTD(3)),
    server          LowCardinality(String),
    source_kind     LowCardinality(String),
    source_name     String,
    source_position String,
    time            DateTime64(3, 'UTC'),
    ingested_at     DateTime('UTC') DEFAULT now()
)
ENGINE = ReplacingMergeTree
ORDER BY (stage, id)
TTL ingested_at + INTERVAL {{ttl_days}} DAY;
