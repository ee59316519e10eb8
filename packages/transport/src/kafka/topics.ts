import { type KafkaConfig, TOPICS, type TopicKey } from '@connrca/contracts'
import { backoffDelay, errorText, pause } from './backoff.js'
import { createKafkaJsClient, type WireAdmin, type WireClient } from './client.js'
import { noopLogger, type TransportLogger } from './options.js'

export function topicName(cfg: Pick<KafkaConfig, 'topicPrefix'>, key: TopicKey): string {
  return (cfg.topicPrefix ?? '') + TOPICS[key].name
}

export class KafkaUnavailableError extends Error {}

/**
 * How long a topic that "already exists" (another process won the race to create it) may stay
 * out of the broker's metadata. Seconds on a loaded machine: the broker applies the controller's
 * change after it answered, so a few quick looks (2-4 s) are not enough.
 */
const VISIBLE_WITHIN_MS = 30_000

/**
 * Creates the four connrca topics with the configured partitions and replication where missing.
 * Safe to run from every process at once: a topic created meanwhile by another is fine. An
 * existing topic with fewer partitions is reported, not changed (adding partitions would move
 * keys to other partitions and break per-server order).
 */
export async function ensureTopics(
  cfg: KafkaConfig,
  opts: { client?: WireClient; logger?: TransportLogger; visibleWithinMs?: number } = {},
): Promise<void> {
  const logger = opts.logger ?? noopLogger
  const client = opts.client ?? createKafkaJsClient(cfg, logger)
  const admin = client.admin()
  const names = (Object.keys(TOPICS) as TopicKey[]).map((k) => topicName(cfg, k))
  try {
    await admin.connect()
  } catch (err) {
    throw new KafkaUnavailableError(`kafka: cannot reach brokers ${cfg.brokers.join(',')}: ${errorText(err)}`)
  }
  try {
    // Another process creating the same topics at this moment makes metadata briefly
    // inconsistent (listed but "does not host this topic-partition"): look again shortly.
    let created = false
    for (let attempt = 1; ; attempt++) {
      try {
        created = await createMissing(cfg, admin, names, logger)
        break
      } catch (err) {
        if (attempt >= 8) throw err
        await pause(backoffDelay(attempt, 100, 1000))
      }
    }
    // Callers produce right after: wait until every topic is in the metadata.
    if (created) await untilVisible(admin, names, opts.visibleWithinMs ?? VISIBLE_WITHIN_MS)
  } catch (err) {
    throw new KafkaUnavailableError(`kafka: cannot create topics on ${cfg.brokers.join(',')}: ${errorText(err)}`)
  } finally {
    await admin.disconnect().catch(() => {})
  }
}

/** Creates the missing topics; true when some were missing. */
async function createMissing(cfg: KafkaConfig, admin: WireAdmin, names: string[], logger: TransportLogger) {
  const existing = await admin.describeTopics(names)
  const missing = names.filter((n) => !existing.has(n))
  for (const [name, partitions] of existing) {
    if (partitions < cfg.partitions) {
      logger.warn(`kafka: topic ${name} has ${partitions} partitions, config asks for ${cfg.partitions}; left as is`)
    }
  }
  if (missing.length === 0) return false
  await admin.createTopics(
    missing.map((topic) => ({ topic, partitions: cfg.partitions, replicationFactor: cfg.replicationFactor })),
  )
  logger.info(`kafka: created topics ${missing.join(', ')}`, { partitions: cfg.partitions })
  return true
}

async function untilVisible(admin: WireAdmin, names: string[], withinMs: number): Promise<void> {
  const deadline = Date.now() + withinMs
  for (let attempt = 1; ; attempt++) {
    let why: string
    try {
      const visible = await admin.describeTopics(names)
      const notYet = names.filter((n) => !visible.has(n))
      if (notYet.length === 0) return
      why = `topics not yet visible in metadata: ${notYet.join(', ')}`
    } catch (err) {
      why = errorText(err)
    }
    const left = deadline - Date.now()
    if (left <= 0) throw new Error(`${why} (waited ${Math.round(withinMs / 1000)} s)`)
    await pause(Math.min(left, backoffDelay(attempt, 100, 1000)))
  }
}
