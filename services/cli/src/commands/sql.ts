import { openStore, runReadOnlySql, SqlRefused } from '@connrca/store'
import { parse } from '../args.js'
import { loadConfig } from '../config-file.js'
import { UsageError, UserError } from '../errors.js'
import { table } from '../output.js'

const USAGE = 'connrca sql "SELECT …" [--format table|json|csv] [--max-rows N] [--timeout S] [--config C] [--data-dir D]'

/** Read-only ad-hoc SQL against the store. */
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
  if (format !== 'table' && format !== 'json' && format !== 'csv') throw new UsageError(`unknown output format "${format}" (table, json, csv)`)
  const config = loadConfig(values.config)
  if (values['data-dir']) config.store.dataDir = values['data-dir']
  const store = await openStore(config.store)
  try {
    await store.migrate()
    const result = await runReadOnlySql(store, positionals[0], {
      maxRows: Number(values['max-rows']),
      timeoutSec: Number(values.timeout),
      // the same memory and byte caps as POST /api/v1/sql: the engine shares this process
      maxMemoryMB: config.api.sql.maxMemoryMB,
      maxBytes: config.api.sql.maxResultBytes,
    })
    const names = result.columns.map((c) => c.name)
    if (format === 'json') {
      process.stdout.write(`${JSON.stringify({ columns: result.columns, rows: result.rows, truncated: result.truncated })}\n`)
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
  } catch (err) {
    if (err instanceof SqlRefused) throw new UserError(`refused: ${err.message}`)
    throw err
  } finally {
    await store.close()
  }
}
