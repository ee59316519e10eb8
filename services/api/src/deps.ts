import type { ApiConfig, PipelineHealth } from '@connrca/contracts'
import type { Store } from '@connrca/store'
import { HttpError } from './http.js'

export interface Deps {
  store: Store
  config: ApiConfig
  health?: () => PipelineHealth | Promise<PipelineHealth>
  /** The pipeline's window width: the automatic step is never finer. */
  windowMs: number
  maxRangeMs: number
  /** store.readQuery with the API's own time limit. */
  query<T>(sql: string, params?: Record<string, unknown>): Promise<T[]>
}

/** Seconds any dashboard/JSON query may run; a bounded range should never come near it. */
export const QUERY_TIMEOUT_SEC = 30
const TIMEOUT_CODE = '159'

/**
 * Appends the time limit as a SETTINGS clause (per query; on chDB a client-level setting would
 * apply to the whole session) and turns a timeout into a 503 the caller can act on.
 */
export function limitedQuery(store: Store) {
  return async <T>(sql: string, params?: Record<string, unknown>): Promise<T[]> => {
    try {
      return await store.readQuery<T>(
        `${sql}\nSETTINGS max_execution_time = ${QUERY_TIMEOUT_SEC}, timeout_overflow_mode = 'throw'`,
        params,
      )
    } catch (err) {
      const e = err as { code?: string; clickhouseCode?: number; message?: string }
      if (e?.code === TIMEOUT_CODE || e?.clickhouseCode === 159 || /TIMEOUT_EXCEEDED/.test(String(e?.message))) {
        throw new HttpError(
          503,
          'query_timeout',
          `the query ran longer than ${QUERY_TIMEOUT_SEC} s; narrow the time range or filters`,
        )
      }
      throw err
    }
  }
}
