import { appendFile, mkdir, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { DEFAULT_PREFIX, type InjectedIncident, renderedRecords } from '@connrca/cli'
import { sleep } from './process.js'

export interface LogSpec {
  servers: readonly string[]
  start: number
  durationMs: number
  ratePerSec: number
  seed: number
  incidents: readonly InjectedIncident[]
}

/**
 * Each server's complete log, ending with one `connection authorized` an hour of event time after
 * the rest. Logs that keep flowing close every window on event time; without that line the last
 * windows would close on the idle timeout, i.e. on processing time, and a stalled pipeline closes
 * them at other moments than an uninterrupted one (by design, see packages/windowing).
 */
export function renderLogs(spec: LogSpec): Map<string, Buffer> {
  const out = new Map<string, Buffer>()
  for (const server of spec.servers) {
    const lines = [
      ...renderedRecords({
        ...spec,
        servers: [server],
        format: 'stderr',
        prefix: DEFAULT_PREFIX,
        incidents: spec.incidents.filter((i) => i.server === server).map((i) => ({ ...i })),
      }),
    ]
    const end = new Date(spec.start + spec.durationMs + 3_600_000).toISOString().replace('T', ' ').replace('Z', ' UTC')
    lines.push(`${end} [99999] probe@postgres LOG:  connection authorized: user=probe database=postgres`, '')
    out.set(server, Buffer.from(lines.join('\n')))
  }
  return out
}

/**
 * Offsets where `text` may be cut into `slices`: right before a `connection received` line, so a
 * FATAL and its DETAIL always arrive together (a split record waiting for its tail is another
 * test's subject: partial-record*.test.ts).
 */
function cuts(text: Buffer, slices: number): number[] {
  const out: number[] = []
  for (let i = 1; i < slices; i++) {
    const at = text.indexOf(' LOG:  connection received', Math.floor((text.length * i) / slices))
    if (at < 0) break
    const cut = text.lastIndexOf(10, at) + 1
    if (cut > (out.at(-1) ?? 0)) out.push(cut)
  }
  out.push(text.length)
  return out
}

export interface Feed {
  /** Share of the input written so far, 0..1. */
  progress(): number
  /** Lets the held-back tail through. */
  release(): void
  done: Promise<void>
}

/**
 * Appends each log to its file in `slices` steps, one every `everyMs`; the last `heldBack` share
 * waits for release(), so input is still arriving after the faults.
 */
export async function feedLogs(
  logs: Map<string, { text: Buffer; file: string }>,
  opts: { slices: number; everyMs: number; heldBack: number },
): Promise<Feed> {
  for (const { file } of logs.values()) {
    await mkdir(dirname(file), { recursive: true })
    await writeFile(file, '')
  }
  const plans = [...logs.values()].map((l) => ({ ...l, cuts: cuts(l.text, opts.slices), at: 0 }))
  let step = 0
  let release!: () => void
  const released = new Promise<void>((r) => (release = r))
  const steps = Math.max(...plans.map((p) => p.cuts.length))
  const done = (async () => {
    for (; step < steps; step++) {
      if (step >= steps * (1 - opts.heldBack)) await released
      for (const p of plans) {
        const to = p.cuts[Math.min(step, p.cuts.length - 1)]
        if (to > p.at) await appendFile(p.file, p.text.subarray(p.at, to))
        p.at = to
      }
      await sleep(opts.everyMs)
    }
  })()
  return { progress: () => step / steps, release, done }
}
