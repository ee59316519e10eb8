-- Notifier state that must survive a restart: incidents it knows (kind 'alert'), notification
-- groups with what each receiver was last told (kind 'group'), and notifications still being
-- retried (kind 'job'). `body` is the record as JSON; the highest `version` of a (kind, key) wins
-- and `deleted` = 1 marks a removed record, so a restart reads `FINAL WHERE deleted = 0`.
CREATE TABLE IF NOT EXISTS notify_state
(
    kind       LowCardinality(String),
    key        String,
    body       String CODEC(ZSTD(3)),
    deleted    UInt8,
    version    UInt64,
    updated_at DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (kind, key);
