import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { type Config, SourceConfig } from '@connrca/contracts'
import { DEFAULT_PREFIX, SAMPLE_SERVERS, writeLogs } from '../generate/index.js'

/** A day of traffic on three servers with the sample's incidents; same bytes every time. */
export const SAMPLE = {
  start: Date.UTC(2026, 2, 2, 0, 0, 0),
  durationMs: 24 * 3_600_000,
  ratePerSec: 2,
  seed: 2026,
}

export const SAMPLE_THRESHOLDS = { network: 3, user_error: 3 }

/**
 * Writes the bundled sample under the data dir once, describes its servers (flavour, region)
 * unless the config already does, and returns the file source that reads it.
 */
export async function bundledSample(config: Config): Promise<SourceConfig> {
  // inside the data directory: a user's --data-dir holds everything connrca writes, nothing beside it
  const dir = join(config.store.dataDir, 'sample')
  if (!existsSync(join(dir, '.complete'))) {
    await writeLogs(dir, {
      servers: SAMPLE_SERVERS.map((s) => s.name),
      format: 'stderr',
      prefix: DEFAULT_PREFIX,
      incidents: 'default',
      ...SAMPLE,
    })
    const { writeFile } = await import('node:fs/promises')
    await writeFile(join(dir, '.complete'), '')
  }
  if (config.servers.length === 0) {
    config.servers = SAMPLE_SERVERS.map(({ name, flavour, region }) => ({ name, flavour, region }))
  }
  // Health probes and typos trickle in all day; below these counts per window they are noise.
  if (Object.keys(config.pipeline.thresholds).length === 0) config.pipeline.thresholds = SAMPLE_THRESHOLDS
  return SourceConfig.parse({
    type: 'file',
    paths: [join(dir, '*', 'postgresql.log')],
    format: 'stderr',
    prefix: DEFAULT_PREFIX,
    serverFromPath: '(?<server>[^/]+)/postgresql\\.log$',
  })
}
