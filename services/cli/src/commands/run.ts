import { createApiServer } from '@connrca/service-api'
import { type Config, type PipelineHealth, type RcaEvent, type SourceConfig, toMs } from '@connrca/contracts'
import type { Source } from '@connrca/pipeline'
import { hasRoutes, storeBackedNotifier } from '@connrca/service-notifier'
import type { Store } from '@connrca/store'
import { parse } from '../args.js'
import { loadConfig } from '../config-file.js'
import { limitHeapGrowth } from '../embedded/heap.js'
import { EmbeddedPipeline } from '../embedded/pipeline.js'
import { openSources, readTotals, sourcesForPaths } from '../embedded/inputs.js'
import { bundledSample } from '../embedded/sample.js'
import { UsageError } from '../errors.js'
import { openStoreOrExplain, removeInstanceFile, writeInstanceFile } from '../instance.js'
import { fmt, renderRcaForTerminal } from '../output.js'
import { RunMetrics } from '../run-metrics.js'
import { parseFormat } from './classify.js'

const USAGE =
  'connrca run [PATH…|-] [--config C] [--format F] [--prefix P] [--server S] [--json] [--once] [--data-dir D] [--host H] [--port N]'
const COMMIT_EVERY_MS = 1000

/** The main job: every stage in one process on the embedded store, following the inputs. */
export async function run(argv: string[]): Promise<void> {
  const { values, positionals } = parse(
    argv,
    {
      config: { type: 'string' },
      format: { type: 'string' },
      prefix: { type: 'string' },
      server: { type: 'string' },
      json: { type: 'boolean', default: false },
      once: { type: 'boolean', default: false },
      'data-dir': { type: 'string' },
      host: { type: 'string' },
      port: { type: 'string' },
    },
    USAGE,
  )
  limitHeapGrowth()
  const config = loadConfig(values.config)
  if (values['data-dir']) config.store.dataDir = values['data-dir']
  if (values.host !== undefined) config.api.host = values.host
  if (values.port !== undefined) config.api.port = parsePort(values.port)
  const sourceConfigs = await resolveSources(config, positionals, values)
  const log = (line: string) => process.stderr.write(`connrca: ${line}\n`)

  const store = await openStoreOrExplain(config, 'stop it first, or give this run another --data-dir')
  const metrics = new RunMetrics()
  const pipeline = await store
    .migrate()
    .then(() => EmbeddedPipeline.open(config, metrics.countingStore(store)))
    .catch(async (err) => {
      await store.close()
      throw err
    })

  pipeline.onFatal = (err) => {
    log(`stopped: ${err.message} (positions are saved up to the last checkpoint; a restart resumes from there)`)
    process.exit(1)
  }

  // Terminals get openings and resolutions; every revision is in --json and in the store.
  const print = values.json
    ? (e: RcaEvent) => process.stdout.write(`${JSON.stringify(e)}\n`)
    : (e: RcaEvent) => e.status !== 'updated' && process.stdout.write(`${renderRcaForTerminal(e)}\n\n`)
  await pipeline.onRca('console', async (events) => events.forEach(print))

  const notifier = hasRoutes(config.notify) ? storeBackedNotifier(config.notify, store, log) : undefined
  if (notifier) {
    await pipeline.onRca('notifier', (events) => notifier.handle(events))
    notifier.start()
  }
  metrics.watch(pipeline, notifier)

  // --once stops when caught up: no dashboard to serve, so none is announced
  const api = config.api.enabled && !values.once ? await startApi(config, store, () => health(sources, sourceConfigs, pipeline, started, stopping), () => metrics.render(), log) : undefined
  // other commands on this data directory find this process (and its API) through this file
  if (store.kind === 'chdb') writeInstanceFile(config.store.dataDir, { pid: process.pid, url: api?.url, startedAt: new Date().toISOString() })

  const restored = (pipeline.restoredSources ?? {}) as Record<string, unknown>
  const sources = openSources(sourceConfigs, log)
  const sourcesState = () => Object.fromEntries(sources.map((s) => [s.name, s.checkpoint()]))

  let stopping = false
  const started = performance.now()
  const timer = setInterval(() => {
    if (stopping) return
    pipeline
      .tick()
      .then(() => pipeline.commit(sourcesState))
      .catch((err) => log(`commit failed, will retry: ${(err as Error).message}`))
  }, COMMIT_EVERY_MS)

  let sourcesStopped: Promise<unknown> | undefined
  const stopSources = () => (sourcesStopped ??= Promise.all(sources.map((s) => s.stop())))
  const stop = async () => {
    if (stopping) return
    stopping = true
    clearInterval(timer)
    await stopSources()
    await pipeline.commit(sourcesState)
    await notifier?.stop()
    await api?.close()
    await pipeline.close()
    await store.close()
    if (store.kind === 'chdb') removeInstanceFile(config.store.dataDir)
  }
  const onSignal = () => {
    log('stopping: flushing and saving positions…')
    stop().then(
      () => process.exit(0),
      (err) => {
        log(`stop failed: ${(err as Error).message}`)
        process.exit(1)
      },
    )
  }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)

  await Promise.all(sources.map((s) => s.start(metrics.deliverFor(s.name, pipeline.deliver), restored[s.name])))
  const progress = setInterval(() => reportProgress(sources, pipeline, started, log), 2000)
  await Promise.all(sources.map((s) => s.caughtUp()))
  clearInterval(progress)
  if (api) log(`dashboard: ${api.url}/${await dashboardRange(store)}`)
  // Listeners (syslog, HTTP push) have nothing to catch up on: a count here would say 0.
  const finite = sourceConfigs.some((c) => c.type !== 'syslog' && c.type !== 'http')
  const caughtUp = () => log(`caught up: ${readSummary(sources, pipeline)}, in ${((performance.now() - started) / 1000).toFixed(1)} s`)

  if (values.once) {
    // Stopping the sources delivers records still held for a multi-line join; then close windows.
    await stopSources()
    if (finite) caughtUp()
    await pipeline.finish()
    await stop()
    return
  }
  // Following: the newest record of each followed file is held until the next one starts.
  if (finite) caughtUp()
  log('following inputs; Ctrl-C stops and remembers positions')
  await new Promise(() => {})
}

function parsePort(text: string): number {
  const port = Number(text)
  if (!/^\d+$/.test(text) || port > 65535) throw new UsageError(`--port: expected 0-65535, got "${text}"`)
  return port
}

async function startApi(config: Config, store: Store, health: () => PipelineHealth, metrics: () => string, log: (l: string) => void) {
  const server = createApiServer({ store, config: config.api, windowMs: toMs(config.pipeline.window), health, metrics })
  try {
    const { url } = await server.listen()
    return { url, close: () => server.close() }
  } catch (err) {
    // The pipeline is the main job; a busy port should not stop it.
    const busy = (err as Error).message.includes('EADDRINUSE')
    log(`dashboard and API not started: ${(err as Error).message}${busy ? ' (another port: --port N, or --port 0 for any free one)' : ''}`)
    return undefined
  }
}

/** Old logs (the sample, a post-mortem) lie outside "last 24 h": link to the day of the newest event. */
async function dashboardRange(store: Store): Promise<string> {
  const [row] = await store.query<{ newest: string | number }>(
    'SELECT toUnixTimestamp64Milli(max(time)) AS newest FROM connection_events',
  )
  const newest = Number(row?.newest ?? 0)
  if (!newest || Date.now() - newest < 86_400_000) return ''
  const iso = (ms: number) => new Date(ms).toISOString().slice(0, 16)
  return `?from=${iso(newest - 86_400_000)}Z&to=${iso(newest + 60_000)}Z`
}

function health(sources: Source[], configs: SourceConfig[], pipeline: EmbeddedPipeline, started: number, stopping: boolean): PipelineHealth {
  return {
    status: stopping ? 'stopping' : 'ok',
    startedAt: Date.now() - (performance.now() - started),
    sources: sources.map((s, i) => ({ name: s.name, kind: configs[i].type, status: 'ok' as const })),
    stages: [
      { name: 'classifier', processed: pipeline.classifier.recordsIn },
      {
        name: 'aggregator',
        processed: pipeline.aggregator.eventsIn,
        watermark: pipeline.aggregator.watermark,
        lateDropped: pipeline.aggregator.lateDropped,
      },
    ],
  }
}

/**
 * Counted as analyze counts them: records let go by the relevance filter are records too, and
 * late drops are named (each is a failure or attempt no window counted).
 */
function readSummary(sources: Source[], pipeline: EmbeddedPipeline): string {
  const { irrelevant } = readTotals(sources)
  const late = pipeline.aggregator.lateDropped
  return `${fmt(pipeline.recordsIn + irrelevant)} records, ${fmt(pipeline.deadLettersIn)} unparsed, ${fmt(late)} late (dropped)`
}

function reportProgress(sources: Source[], pipeline: EmbeddedPipeline, started: number, log: (l: string) => void) {
  const { bytesRead: read, bytesTotal: total } = readTotals(sources)
  const secs = (performance.now() - started) / 1000
  const pct = total > 0 ? `${((100 * read) / total).toFixed(1)}% ` : ''
  log(`catching up: ${pct}${fmt(pipeline.recordsIn)} records (${fmt(Math.round(pipeline.recordsIn / secs))}/s)`)
}

async function resolveSources(
  config: Config,
  paths: string[],
  flags: { format?: string; prefix?: string; server?: string },
): Promise<SourceConfig[]> {
  if (paths.length > 0) return sourcesForPaths(paths, { ...flags, format: parseFormat(flags.format) }, true)
  if (config.sources.length > 0) return config.sources
  const sample = await bundledSample(config)
  process.stderr.write(`connrca: no inputs given; running on the bundled sample ${(sample as { paths: string[] }).paths[0]}\n`)
  return [sample]
}
