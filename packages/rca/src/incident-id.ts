import { createHash } from 'node:crypto'
import type { Category } from '@connrca/contracts'

/** Same server, cause and first window → same id, across replays and restarts. 32 hex chars. */
export function incidentId(server: string, category: Category, startWindowMs: number): string {
  return createHash('sha256').update(`${server}|${category}|${startWindowMs}`).digest('hex').slice(0, 32)
}
