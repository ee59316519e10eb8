import { SqlRequest, SqlResponse } from '@connrca/contracts'
import { renderResult, runReadOnlySql } from '@connrca/store'
import type { Deps } from '../deps.js'
import { HttpError } from '../http.js'
import { RawResponse, route } from '../router.js'

export function sqlRoutes(deps: Deps) {
  const limits = deps.config.sql
  // counts a query until the engine has stopped it (runReadOnlySql resolves no earlier), so
  // refused callers cannot pile work up behind an answer that was already sent
  let running = 0
  return [
    route({
      method: 'POST',
      path: '/api/v1/sql',
      tag: 'sql',
      summary: 'Run one read-only SQL statement',
      description:
        `SELECT / WITH / SHOW / DESCRIBE / EXPLAIN only, checked before it runs and executed with readonly = 1. ` +
        `Rows above maxRows (server limit ${limits.maxRows}) are cut and \`truncated\` is set; queries stop after ` +
        `timeoutSec (server limit ${limits.timeoutSec} s); results are also cut at ${limits.maxResultBytes} bytes of rows and ` +
        `a query stops when it needs more than ${limits.maxMemoryMB} MB. At most ${limits.maxConcurrent} run at once; ` +
        'more are refused with 429 and Retry-After. format: json (default), csv or table (text). ' +
        'Refused statements answer 400 with the reason (sql_refused, sql_failed, sql_memory); timeouts 408.',
      body: SqlRequest,
      response: SqlResponse,
      produces: ['text/csv', 'text/plain'],
      async handler({ body }) {
        const maxRows = Math.min(body.maxRows ?? limits.maxRows, limits.maxRows)
        const timeoutSec = Math.min(body.timeoutSec ?? limits.timeoutSec, limits.timeoutSec)
        if (running >= limits.maxConcurrent) {
          throw new HttpError(
            429,
            'sql_busy',
            `${running} ad-hoc ${running === 1 ? 'query is' : 'queries are'} running (limit ${limits.maxConcurrent}); retry later`,
            { 'retry-after': String(limits.timeoutSec) },
          )
        }
        running++
        let result: Awaited<ReturnType<typeof runReadOnlySql>>
        try {
          result = await runReadOnlySql(deps.store, body.sql, {
            maxRows,
            timeoutSec,
            maxBytes: limits.maxResultBytes,
            maxMemoryMB: limits.maxMemoryMB,
          })
        } catch (err) {
          throw sqlHttpError(err)
        } finally {
          running--
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
    if (e.code === '241') return new HttpError(400, 'sql_memory', String(e.message))
    return new HttpError(400, 'sql_failed', String(e.message).split('\n')[0])
  }
  return err
}
