import { SqlRequest, SqlResponse } from '@connrca/contracts'
import { renderResult, runReadOnlySql } from '@connrca/store'
import type { Deps } from '../deps.js'
import { HttpError } from '../http.js'
import { RawResponse, route } from '../router.js'

export function sqlRoutes(deps: Deps) {
  const limits = deps.config.sql
  return [
    route({
      method: 'POST',
      path: '/api/v1/sql',
      tag: 'sql',
      summary: 'Run one read-only SQL statement',
      description:
        `SELECT / WITH / SHOW / DESCRIBE / EXPLAIN only, checked before it runs and executed with readonly = 1. ` +
        `Rows above maxRows (server limit ${limits.maxRows}) are cut and \`truncated\` is set; queries stop after ` +
        `timeoutSec (server limit ${limits.timeoutSec} s). format: json (default), csv or table (text). ` +
        'Refused statements answer 400 with the reason; timeouts 408.',
      body: SqlRequest,
      response: SqlResponse,
      produces: ['text/csv', 'text/plain'],
      async handler({ body }) {
        const maxRows = Math.min(body.maxRows ?? limits.maxRows, limits.maxRows)
        const timeoutSec = Math.min(body.timeoutSec ?? limits.timeoutSec, limits.timeoutSec)
        let result: Awaited<ReturnType<typeof runReadOnlySql>>
        try {
          result = await runReadOnlySql(deps.store, body.sql, { maxRows, timeoutSec })
        } catch (err) {
          throw sqlHttpError(err)
        }
        const head = { 'x-connrca-truncated': String(result.truncated), 'x-connrca-rows': String(result.rows.length) }
        if (body.format === 'csv')
          return new RawResponse(200, 'text/csv; charset=utf-8', renderResult(result, 'CSV'), head)
        if (body.format === 'table') {
          return new RawResponse(200, 'text/plain; charset=utf-8', renderResult(result, 'table'), head)
        }
        return {
          columns: result.columns,
          rows: result.rows,
          rowCount: result.rows.length,
          truncated: result.truncated,
          elapsedMs: result.elapsedMs,
        }
      },
    }),
  ]
}

/** Refusals and ClickHouse errors carry one-line messages meant for the user; pass them on. */
function sqlHttpError(err: unknown): unknown {
  const e = err as { name?: string; message?: string; code?: string }
  if (e?.name === 'SqlRefused') return new HttpError(400, 'sql_refused', String(e.message))
  if (e?.name === 'SqlError') {
    if (e.code === '159') return new HttpError(408, 'sql_timeout', String(e.message))
    return new HttpError(400, 'sql_failed', String(e.message).split('\n')[0])
  }
  return err
}
