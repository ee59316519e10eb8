-- RCA events (incidents). Every revision is written; the highest revision per id wins.
CREATE TABLE IF NOT EXISTS rca_events
(
    id              String,
    revision        UInt32,
    status          LowCardinality(String),
    server          LowCardinality(String),
    category        LowCardinality(String),
    count           UInt32,
    attempts        UInt32,
    first_failure   DateTime64(3, 'UTC'),
    last_failure    DateTime64(3, 'UTC'),
    windows         Array(Tuple(start DateTime64(3, 'UTC'), `end` DateTime64(3, 'UTC'), failures UInt32)),
    reasons         Array(Tuple(value String, count UInt32)),
    top_clients     Array(Tuple(value String, count UInt32)),
    top_users       Array(Tuple(value String, count UInt32)),
    top_databases   Array(Tuple(value String, count UInt32)),
    sample_messages Array(String),
    persistence     LowCardinality(String),
    severity        LowCardinality(String),
    title           String,
    text            String,
    steps           Array(String),
    suggestion      String,                    -- JSON of the suggestion, '' when none
    emitted_at      DateTime64(3, 'UTC'),
    ingested_at     DateTime('UTC') DEFAULT now()
)
ENGINE = ReplacingMergeTree(revision)
ORDER BY id;
