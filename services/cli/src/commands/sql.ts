import { resolve } from 'node:path'
import type { Config } from '@connrca/contracts'
import { openStore, type ReadOnlySqlResult, runReadOnlySql, SqlRefused } from '@connrca/store'
import { parse } from '../args.js'
import { loadConfig } from '../config-file.js'
import { UsageError, UserError } from '../errors.js'
import { busy, dataDirHolder, type Instance } from '../instance.js'
import { table } from '../output.js'

const USAGE =
  'connrca sql "SELECT …" [--format table|json|csv] [--max-rows N] [--timeout S] [--config C] [--data-dir D]'

/** Read-only ad-hoc SQL against the store; through the API of the `connrca run` holding the data directory. */
export async function sql(argv: string[]): Promise<void> {
  const { values, positionals } = parse(
    argv,
    {
      format: { type: 'string', default: 'table' },
      'max-rows': { type: 'string', default: '10000' },
      timeout: { type: 'string', default: '30' },
      config: { type: 'string' },
      'data-dir': { type: 'string' },
    },
    USAGE,
  )
  if (positionals.length !== 1) throw new UsageError(`give exactly one SQL statement\nusage: ${USAGE}`)
  const format = values.format
  if (format !== 'table' && format !== 'json' && format !== 'csv')
    throw new UsageError(`unknown output format "${format}" (table, json, csv)`)
  const maxRows = Number(values['max-rows'])
  const timeoutSec = Number(values.timeout)
  if (!Number.isInteger(maxRows) || maxRows <= 0)
    throw new UsageError(`--max-rows: expected a positive integer, got "${values['max-rows']}"`)
  if (!Number.isInteger(timeoutSec) || timeoutSec <= 0)
    throw new UsageError(`--timeout: expected whole seconds, got "${values.timeout}"`)
  const config = loadConfig(values.config)
  if (values['data-dir']) config.store.dataDir = values['data-dir']

  const holder = config.store.url ? undefined : dataDirHolder(resolve(config.store.dataDir))
  const result = holder
    ? await viaApi(config, holder, { sql: positionals[0], maxRows, timeoutSec })
    : await direct(config, positionals[0], maxRows, timeoutSec)
  const names = result.columns.map((c) => c.name)
  if (format === 'json') {
    process.stdout.write(
      `${JSON.stringify({ columns: result.columns, rows: result.rows, truncated: result.truncated })}\n`,
    )
  } else if (format === 'csv') {
    const esc = (v: unknown) => {
      const s = v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v)
      return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
    }
    process.stdout.write(`${[names, ...result.rows].map((r) => r.map(esc).join(',')).join('\n')}\n`)
  } else {
    process.stdout.write(`${table(names, result.rows)}\n`)
  }
  if (result.truncated) process.stderr.write(`connrca: result truncated to ${result.rows.length} rows\n`)
}

async function direct(config: Config, statement: string, maxRows: number, timeoutSec: number) {
  const store = await openStore(config.store)
  try {
    await store.migrate()
    return await runReadOnlySql(store, statement, {
      maxRows,
      timeoutSec,
      // the same memory and byte caps as POST /api/v1/sql: the engine shares this process
      maxMemoryMB: config.api.sql.maxMemoryMB,
      maxBytes: config.api.sql.maxResultBytes,
    })
  } catch (err) {
    if (err instanceof SqlRefused) throw new UserError(`refused: ${err.message}`)
    throw err
  } finally {
    await store.close()
  }
}

/** The running instance answers with its own limits (the lower of ours and its). */
async function viaApi(
  config: Config,
  holder: Instance,
  body: { sql: string; maxRows: number; timeoutSec: number },
): Promise<Pick<ReadOnlySqlResult, 'columns' | 'rows' | 'truncated'>> {
  const url = holder.url
  if (!url)
    throw busy(
      config.store.dataDir,
      holder,
      'it serves no API (`run --once` or api.enabled: false); wait for it to finish or stop it',
    )
  let res: Response
  try {
    res = await fetch(`${url}/api/v1/sql`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(config.api.token ? { authorization: `Bearer ${config.api.token}` } : {}),
      },
      body: JSON.stringify({ ...body, format: 'json' }),
    })
  } catch (err) {
    throw busy(
      config.store.dataDir,
      holder,
      `its API does not answer (${(err as Error).cause ?? (err as Error).message})`,
    )
  }
  const text = await res.text()
  let json: { error?: { code: string; message: string } } & Partial<ReadOnlySqlResult> = {}
  try {
    json = JSON.parse(text)
  } catch {
    // not JSON: reported below with the status
  }
  if (res.status === 401)
    throw new UserError(
      `${url} (the connrca run holding ${config.store.dataDir}) wants its API token: set CONNRCA_API_TOKEN or api.token`,
    )
  if (!res.ok) {
    const message = json.error?.message ?? text.split('\n')[0]
    throw new UserError(json.error?.code === 'sql_refused' ? `refused: ${message}` : `${message} (via ${url})`)
  }
  return { columns: json.columns ?? [], rows: json.rows ?? [], truncated: json.truncated ?? false }
}
