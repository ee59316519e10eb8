import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { type Config, SourceConfig } from '@connrca/contracts'
import { DEFAULT_PREFIX, SAMPLE_SERVERS, writeLogs } from '../generate/index.js'

const HOUR = 3_600_000

/** A day of traffic on three servers with the sample's incidents; same bytes for the same start. */
export const SAMPLE = {
  durationMs: 24 * HOUR,
  ratePerSec: 2,
  seed: 2026,
}

/** Samples written before their start was recorded covered this day. */
const FIRST_SAMPLE_START = Date.UTC(2026, 2, 2)

/**
 * The sample covers the 24 hours up to the hour it is first written, so a first run's dashboard
 * shows it as recent. Incidents sit at fixed offsets from the start (the firewall one at +10:02),
 * so counts and texts are the same whatever the day; only the dates move.
 */
export function sampleStart(now = Date.now()): number {
  return Math.floor(now / HOUR) * HOUR - SAMPLE.durationMs
}

/** The start recorded beside a written sample (its `.complete` marker), if it is complete. */
export function writtenSampleStart(dir: string): number | undefined {
  const marker = join(dir, '.complete')
  if (!existsSync(marker)) return undefined
  const text = readFileSync(marker, 'utf8').trim()
  return text ? (JSON.parse(text) as { start: number }).start : FIRST_SAMPLE_START
}

export const SAMPLE_THRESHOLDS = { network: 3, user_error: 3 }

/**
 * Writes the bundled sample under the data dir once, describes its servers (flavour, region)
 * unless the config already does, and returns the file source that reads it.
 */
export async function bundledSample(config: Config): Promise<SourceConfig> {
  // inside the data directory: a user's --data-dir holds everything connrca writes, nothing beside it
  const dir = join(config.store.dataDir, 'sample')
  if (writtenSampleStart(dir) === undefined) {
    const start = sampleStart()
    await writeLogs(dir, {
      servers: SAMPLE_SERVERS.map((s) => s.name),
      format: 'stderr',
      prefix: DEFAULT_PREFIX,
      incidents: 'default',
      start,
      ...SAMPLE,
    })
    const { writeFile } = await import('node:fs/promises')
    await writeFile(join(dir, '.complete'), `${JSON.stringify({ start })}\n`)
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
