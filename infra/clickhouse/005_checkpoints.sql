-- Small named state: source positions, consumer progress. Latest `updated` wins.
CREATE TABLE IF NOT EXISTS checkpoints
(
    name    String,
    value   String,
    updated DateTime64(6, 'UTC')
)
ENGINE = ReplacingMergeTree(updated)
ORDER BY name;
