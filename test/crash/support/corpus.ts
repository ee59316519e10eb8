import { DEFAULT_PREFIX, defaultIncidents, type GroundTruth, renderedRecords } from '@connrca/cli'
import type { prng } from '../../support/prng.js'

/** Two servers, a few hours, the bundled incident story at a higher rate so every window kind is busy. */
export const SERVERS = ['orders-prod', 'billing-flex'] as const
const START = Date.UTC(2026, 2, 2)
const DURATION = 6 * 3_600_000
const RATE_PER_SEC = 8
const INCIDENT_BOOST = 6

export interface ServerText {
  server: string
  text: Buffer
  lines: number
  /** What the generator injected, counted while rendering. */
  truth: GroundTruth
}

/** The complete log of each server, rendered once; the writer appends slices of it. */
export function renderCorpus(
  opts: { servers?: readonly string[]; durationMs?: number; ratePerSec?: number; seed?: number } = {},
): ServerText[] {
  const { servers = SERVERS, durationMs = DURATION, ratePerSec = RATE_PER_SEC, seed = 11 } = opts
  const incidents = defaultIncidents([...servers], START, durationMs).map((i) => ({
    ...i,
    perMinute: i.perMinute * INCIDENT_BOOST,
  }))
  return servers.map((server) => {
    const parts: string[] = []
    let truth: GroundTruth | undefined
    const records = renderedRecords(
      {
        servers: [server],
        start: START,
        durationMs,
        ratePerSec,
        format: 'stderr',
        prefix: DEFAULT_PREFIX,
        seed,
        incidents: incidents.filter((i) => i.server === server),
      },
      (t) => (truth = t),
    )
    for (const rec of records) parts.push(rec)
    parts.push('')
    const text = Buffer.from(parts.join('\n'))
    let lines = 0
    for (let i = text.indexOf(10); i >= 0; i = text.indexOf(10, i + 1)) lines++
    return { server, text, lines, truth: truth! }
  })
}

/**
 * Byte offsets where the writer stops between appends: random (so almost always inside a line),
 * plus `forced` offsets (inside multi-line records), sorted, distinct, ending at the text's end.
 */
export function cutPoints(size: number, chunks: number, rng: ReturnType<typeof prng>, forced: number[] = []): number[] {
  const cuts = new Set<number>(forced.filter((c) => c > 0 && c < size))
  while (cuts.size < chunks - 1) cuts.add(rng.int(1, size - 1))
  return [...[...cuts].sort((a, b) => a - b), size]
}

/**
 * Offsets inside multi-line records of a stderr log: right after the first line of a record whose
 * next line is its DETAIL (same prefix), and right after a DETAIL line whose text goes on on a
 * tab-indented continuation line. Picked from the middle third of the text.
 */
export function multiLineCuts(text: Buffer): number[] {
  const s = text.toString('latin1')
  const from = Math.floor(s.length / 3)
  const out: number[] = []
  const detail = s.indexOf(' DETAIL:  ', from)
  if (detail > 0) out.push(s.lastIndexOf('\n', detail) + 1)
  const cont = s.indexOf('\n\t', detail + 1)
  if (cont > 0) out.push(cont + 1)
  return out
}
