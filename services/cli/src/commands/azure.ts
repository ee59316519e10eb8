import { existsSync } from 'node:fs'
import { AzureQueryError, backfill, type PullProgress } from '@connrca/pipeline'
import { type AzureSource, type Config, type ConnectionEvent, toMs } from '@connrca/contracts'
import { parse } from '../args.js'
import { DEFAULT_CONFIG_FILE, loadConfig } from '../config-file.js'
import { openStoreOrExplain } from '../instance.js'
import { EmbeddedPipeline } from '../embedded/pipeline.js'
import { UsageError, UserError } from '../errors.js'
import { fmt } from '../output.js'

const USAGE = 'connrca azure backfill --source NAME --from ISO [--to ISO] [--config C] [--data-dir D] [--json]'

/** `connrca azure <subcommand>`: one-off jobs against a Log Analytics workspace. */
export async function azure(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv
  if (sub === undefined || sub === '--help' || sub === '-h') return azureBackfill(['--help'])
  if (sub === 'backfill') return azureBackfill(rest)
  throw new UsageError(`${sub ? `unknown azure subcommand "${sub}"` : 'missing azure subcommand'}\nusage: ${USAGE}`)
}

/**
 * Reads a past time range of an `azure` source once into the store. Opens its own fresh
 * pipeline and never writes the `run` checkpoint: the positions and window state of
 * `connrca run` stay as they were, and the records are deduplicated by id in the store, so a
 * range that `run` also pulls is not counted twice.
 */
async function azureBackfill(argv: string[]): Promise<void> {
  const { values, positionals } = parse(
    argv,
    {
      source: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      config: { type: 'string' },
      'data-dir': { type: 'string' },
      json: { type: 'boolean', default: false },
    },
    USAGE,
  )
  if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"\nusage: ${USAGE}`)
  if (!values.from) throw new UsageError(`--from is required\nusage: ${USAGE}`)
  const from = parseInstant('--from', values.from)
  const to = values.to === undefined ? Date.now() : parseInstant('--to', values.to)
  if (!(from < to)) throw new UserError(`--from (${iso(from)}) must be before --to (${iso(to)})`)

  const config = loadConfig(values.config)
  if (values['data-dir']) config.store.dataDir = values['data-dir']
  const source = pickSource(config, values.source, values.config)
  const name = sourceName(source)

  const log = (line: string) => process.stderr.write(`connrca: ${line}\n`)
  const store = await openStoreOrExplain(config, 'stop it, or backfill into another --data-dir')
  const started = performance.now()
  const abort = new AbortController()
  const onSignal = () => {
    log('stopping: storing what was read so far…')
    abort.abort(new Error('interrupted'))
  }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)

  let failures = 0
  let progress: PullProgress = { from, to, doneUntil: from, rows: 0, records: 0, duplicates: 0 }
  let slices = 0
  let deadLetters = 0
  try {
    await store.migrate()
    const pipeline = await EmbeddedPipeline.open(config, store, { fresh: true })
    pipeline.onEvents('backfill-summary', async (events: ConnectionEvent[]) => {
      for (const e of events) if (e.outcome === 'failed') failures++
    })
    const report = progressLine(name, toMs(source.maxSlice))
    let failure: unknown
    try {
      progress = await backfill(
        source,
        from,
        to,
        pipeline.deliver,
        (p) => {
          progress = p
          slices++
          report(p, slices)
        },
        { logger: log, signal: abort.signal },
      )
    } catch (err) {
      failure = err
    }
    // Whatever was delivered is stored, also after an error or Ctrl-C: the rows are idempotent.
    await pipeline.finish()
    await pipeline.close()
    deadLetters = pipeline.deadLettersIn
    if (failure) throw explain(failure, name, source.credential?.type ?? 'default', progress, abort.signal.aborted)
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    await store.close()
  }

  const secs = (performance.now() - started) / 1000
  if (values.json) {
    process.stdout.write(
      `${JSON.stringify({ source: name, from: iso(from), to: iso(to), slices, rows: progress.rows, records: progress.records, duplicates: progress.duplicates, unparsed: deadLetters, failures, elapsedMs: Math.round(secs * 1000) })}\n`,
    )
    return
  }
  process.stdout.write(
    `backfilled ${name} ${iso(from)} .. ${iso(to)}: ${fmt(slices)} slices, ${fmt(progress.rows)} rows, ${fmt(progress.records)} records (${fmt(progress.duplicates)} duplicates, ${fmt(deadLetters)} unparsed), ${fmt(failures)} failed connection attempts, in ${secs.toFixed(1)} s\n`,
  )
}

/** ISO 8601 date or date-time; without a zone it is UTC (log times are UTC, the local zone would surprise). */
const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?)?(Z|[+-]\d{2}:?\d{2})?$/i

export function parseInstant(flag: string, text: string): number {
  const m = ISO.exec(text.trim())
  const zoned = m && (m[7] || !m[4]) ? text.trim() : m ? `${text.trim()}Z` : undefined
  const t = zoned === undefined ? Number.NaN : Date.parse(zoned.replace(' ', 'T'))
  // Date.parse rolls 2024-02-31 over to March; a calendar date must name a real day.
  const realDay = m !== null && new Date(Date.UTC(+m[1], +m[2] - 1, +m[3])).getUTCDate() === +m[3]
  if (Number.isNaN(t) || !realDay)
    throw new UsageError(`${flag} "${text}" is not an ISO 8601 date or time (e.g. 2024-05-01 or 2024-05-01T10:00:00Z)`)
  return t
}

function sourceName(s: AzureSource): string {
  return s.name ?? `azure:${s.workspaceId}`
}

/** The azure source called `wanted`, or the only azure source when no name is given. */
function pickSource(config: Config, wanted: string | undefined, file: string | undefined): AzureSource {
  const where =
    file ?? process.env.CONNRCA_CONFIG ?? (existsSync(DEFAULT_CONFIG_FILE) ? DEFAULT_CONFIG_FILE : undefined)
  if (where === undefined)
    throw new UserError(`no config file: the azure source to backfill is read from ${DEFAULT_CONFIG_FILE} or --config`)
  const azureSources = config.sources.filter((s): s is AzureSource => s.type === 'azure')
  if (azureSources.length === 0) throw new UserError(`${where} has no source of type azure to backfill`)
  const names = azureSources.map(sourceName)
  if (wanted === undefined) {
    if (azureSources.length === 1) return azureSources[0]
    throw new UsageError(`${where} has several azure sources; pick one with --source (${names.join(', ')})`)
  }
  const i = names.indexOf(wanted)
  if (i < 0) {
    const other = config.sources.find((s) => (s.name ?? '') === wanted)
    const why = other ? `source "${wanted}" is of type ${other.type}, not azure` : `no azure source named "${wanted}"`
    throw new UserError(`${where}: ${why} (azure sources: ${names.join(', ')})`)
  }
  return azureSources[i]
}

/** Progress on stderr: rewritten in place on a terminal, at most a line a second otherwise. */
function progressLine(name: string, maxSlice: number) {
  const tty = process.stderr.isTTY
  let last = 0
  return (p: PullProgress, done: number) => {
    const now = performance.now()
    const finished = p.doneUntil >= p.to
    if (!finished && now - last < 1000) return
    last = now
    // Busy slices are split, so the total grows as they are found: done + what is left at full size.
    const total = done + Math.ceil((p.to - p.doneUntil) / maxSlice)
    const pct = ((100 * (p.doneUntil - p.from)) / (p.to - p.from)).toFixed(1)
    const text = `${name}: ${fmt(done)}/${fmt(total)} slices (${pct}%, up to ${iso(p.doneUntil)}), ${fmt(p.rows)} rows, ${fmt(p.records)} records`
    process.stderr.write(tty ? `\r${text}   ${finished ? '\n' : ''}` : `connrca: ${text}\n`)
  }
}

/** One line that says what failed, and from where a re-run continues. */
function explain(err: unknown, name: string, credential: string, p: PullProgress, interrupted: boolean): UserError {
  const resume =
    p.doneUntil > p.from ? `; stored up to ${iso(p.doneUntil)}, continue with --from ${iso(p.doneUntil)}` : ''
  if (interrupted) return new UserError(`backfill of ${name} interrupted${resume}`, 130)
  const msg = firstLine(err)
  const token = /cannot get a token for Log Analytics: (.*)$/.exec(msg)
  if (err instanceof AzureQueryError && token)
    return new UserError(
      `${name}: could not get an Azure access token (credential type ${credential}): ${token[1]}${resume}`,
    )
  // The service's 403s say which: no read access, a token for another cloud, a bad token.
  const refusal = err instanceof AzureQueryError ? /HTTP (401|403)(?: (\w+))?/.exec(msg) : null
  if (refusal) {
    const hint =
      refusal[2] === 'InsufficientAccessError'
        ? 'the credential was refused; it needs the Log Analytics Reader role on the workspace'
        : refusal[2] === 'InvalidAuthenticationTokenAudience'
          ? "the token is for another audience: set the source's endpoint to the workspace's cloud (e.g. https://api.loganalytics.azure.cn/v1, https://api.loganalytics.us/v1), or audience for a proxy"
          : 'the token was refused (expired, malformed, or from another tenant)'
    return new UserError(`${msg} — ${hint}${resume}`)
  }
  return new UserError(`${/^azure|backfill|^[^:]+: /.test(msg) ? '' : `${name}: `}${msg}${resume}`)
}

function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err)
  return (
    text
      .split('\n')
      .find((l) => l.trim())
      ?.trim() ?? text
  )
}

function iso(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z')
}
