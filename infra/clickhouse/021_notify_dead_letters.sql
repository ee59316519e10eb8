-- Notifications that exhausted their retry budget (or were refused with a 4xx), kept with the
-- exact body, idempotency key and last error so `connrca notify retry` can send them again.
-- `error` is already scrubbed of webhook URLs and secrets. Latest `version` of an id wins.
CREATE TABLE IF NOT EXISTS notify_dead_letters
(
    id              String,
    created_at      DateTime64(3, 'UTC'),
    updated_at      DateTime64(3, 'UTC'),
    route           String,
    receiver        String,
    kind            LowCardinality(String),
    group_key       String,
    idempotency_key String,
    body            String CODEC(ZSTD(3)),
    error           String,
    attempts        UInt32,
    status          LowCardinality(String),
    version         UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY id;
