/**
 * Generated logs replayed through the real parser, classifier and window stage (no store): what
 * the diagnosis and baseline tests and the baseline report judge.
 */
import { WindowStage, type WindowStageState } from '@connrca/pipeline'
import { Classifier } from '@connrca/classifier'
import { type ConnectionEvent, type LogRecord, PipelineConfig, type RcaEvent } from '@connrca/contracts'
import { createParser } from '@connrca/pglog'
import type { Store } from '@connrca/store'
import { generateLines } from './generate.js'
import { SAMPLE_SERVERS } from './profiles.js'
import { DEFAULT_PREFIX } from './render.js'
import type { InjectedIncident } from './types.js'

const NO_STORE = {
  insertConnectionEvents: async () => {},
  insertWindowCounts: async () => {},
  insertRcaEvents: async () => {},
}

/** The classified events of a generated run, server by server (one parser per server file). */
export function classifiedEvents(opts: {
  servers: string[]
  start: number
  durationMs: number
  incidents: InjectedIncident[]
  ratePerSec?: number
  seed?: number
}): ConnectionEvent[] {
  const c = new Classifier()
  const events: ConnectionEvent[] = []
  for (const server of opts.servers) {
    const records: LogRecord[] = []
    const p = createParser(
      { format: 'stderr', server, prefix: DEFAULT_PREFIX, source: { kind: 'file', name: `${server}.log` } },
      {
        record: (r) => records.push(r),
        deadLetter: (d) => {
          throw new Error(`dead letter: ${d.reason}`)
        },
      },
    )
    let pos = 0
    for (const line of generateLines({
      servers: [server],
      start: opts.start,
      durationMs: opts.durationMs,
      ratePerSec: opts.ratePerSec ?? 2,
      format: 'stderr',
      incidents: opts.incidents,
      seed: opts.seed,
    })) {
      p.push(line, pos)
      pos += line.length + 1
    }
    p.flush()
    for (const r of records) {
      const e = c.classify(r)
      if (e) events.push(e)
    }
  }
  return events
}

export interface RunOptions {
  batch?: number
  /** Snapshot, JSON round trip and restore into a new stage after every this many batches. */
  restartEvery?: number
  thresholds?: PipelineConfig['thresholds']
  /** pipeline.baselines (default: the config's default, i.e. enabled). */
  baselines?: Partial<PipelineConfig['baselines']>
  store?: Pick<Store, 'insertConnectionEvents' | 'insertWindowCounts' | 'insertRcaEvents'>
}

/** Feeds the events through the aggregator stage; returns every RCA event revision in order. */
export async function runStage(events: ConnectionEvent[], o: RunOptions = {}): Promise<RcaEvent[]> {
  const out: RcaEvent[] = []
  const pipeline = PipelineConfig.parse({ thresholds: o.thresholds ?? {}, baselines: o.baselines ?? {} })
  const servers = SAMPLE_SERVERS.map(({ name, flavour, region }) => ({ name, flavour, region }))
  const make = (state?: WindowStageState) =>
    new WindowStage({
      pipeline,
      servers,
      store: o.store ?? NO_STORE,
      rcaOut: { publish: async (ms) => void out.push(...ms.map((m) => m.value)), flush: async () => {} },
      state,
    })
  let stage = make()
  const batch = o.batch ?? 1000
  for (let i = 0, n = 0; i < events.length; i += batch, n++) {
    await stage.handle(events.slice(i, i + batch))
    if (o.restartEvery && n % o.restartEvery === o.restartEvery - 1) {
      await stage.flush()
      stage = make(JSON.parse(JSON.stringify(stage.snapshot())) as WindowStageState)
    }
  }
  await stage.finish()
  return out
}

/** The latest revision of each incident. */
export function latest(events: RcaEvent[]): RcaEvent[] {
  const m = new Map<string, RcaEvent>()
  for (const e of events) if ((m.get(e.id)?.revision ?? 0) < e.revision) m.set(e.id, e)
  return [...m.values()]
}

/** Incidents of the injected one's server and category that overlap its time. */
export function incidentsOf(inc: InjectedIncident, events: RcaEvent[]): RcaEvent[] {
  const end = inc.start + inc.durationMs
  return latest(events).filter(
    (e) =>
      e.server === inc.server &&
      e.category === inc.category &&
      e.firstFailure < end + 60_000 &&
      e.lastFailure >= inc.start,
  )
}
