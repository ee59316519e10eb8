import { parseDurationMs, parseTimePoint } from '@connrca/contracts'
import { parse } from '../args.js'
import { loadConfig } from '../config-file.js'
import { openStoreOrExplain } from '../instance.js'
import { UsageError } from '../errors.js'
import { collectWhy, renderWhy } from '../why/report.js'

const USAGE = 'connrca why [SERVER] [--since 1h] [--until now|ISO] [--json] [--config C] [--data-dir D]'

/** Why did connections fail: causes ranked by failures with their likely cause, from the store. */
export async function why(argv: string[]): Promise<void> {
  const { values, positionals } = parse(
    argv,
    {
      since: { type: 'string', default: '1h' },
      until: { type: 'string', default: 'now' },
      json: { type: 'boolean', default: false },
      config: { type: 'string' },
      'data-dir': { type: 'string' },
    },
    USAGE,
  )
  if (positionals.length > 1) throw new UsageError(`give at most one server\nusage: ${USAGE}`)
  const since = parseDurationMs(values.since)
  if (since === undefined || since === 0)
    throw new UsageError(`--since: expected a duration such as 1h, 30m or 2d, got "${values.since}"`)
  const to = parseTimePoint(values.until, Date.now())
  if (to === undefined) throw new UsageError(`--until: expected now, ISO 8601 or epoch ms, got "${values.until}"`)
  const config = loadConfig(values.config)
  if (values['data-dir']) config.store.dataDir = values['data-dir']
  const store = await openStoreOrExplain(config, 'open its dashboard, or use `connrca sql`, which goes through its API')
  try {
    await store.migrate()
    const report = await collectWhy(store, { server: positionals[0], from: to - since, to })
    process.stdout.write(`${values.json ? JSON.stringify(report) : renderWhy(report)}\n`)
  } finally {
    await store.close()
  }
}
