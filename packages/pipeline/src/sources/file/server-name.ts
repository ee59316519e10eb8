import path from 'node:path'

/** File and directory names that say nothing about which server wrote the log. */
const GENERIC = new Set(['', 'postgresql', 'postgres', 'pg', 'log', 'logs', 'pg_log', 'pglog', 'data', 'tmp', 'var'])

/**
 * The server of a file when the source names none (no `server`, no `serverFromPath`), so files of
 * different servers never share windows: the file name without compression, rotation number,
 * extension and date stamp (`postgresql-15-main.log.2.gz` → `postgresql-15-main`); when that is
 * generic (`postgresql.log`, `postgresql-2026-03-01_000000.log`), the nearest directory that is
 * not (`/var/log/pg/orders-prod/postgresql.log` → `orders-prod`). Rotated parts of one log thus
 * share a server.
 */
export function serverFromFileName(file: string): string {
  let stem = path.basename(file)
  for (let prev = ''; prev !== stem; ) {
    prev = stem
    stem = stem
      .replace(/\.gz$/i, '')
      .replace(/\.\d+$/, '')
      .replace(/\.(log|csv|json|txt)$/i, '')
      // log_filename stamps: -2026-03-01_000000, -20260301, -Mon
      .replace(/[-_.](\d{4}-?\d{2}-?\d{2}([-_T]?\d{2,6})?|mon|tue|wed|thu|fri|sat|sun)$/i, '')
  }
  if (!GENERIC.has(stem.toLowerCase())) return stem
  for (let dir = path.dirname(path.resolve(file)); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const name = path.basename(dir)
    if (!GENERIC.has(name.toLowerCase())) return name
  }
  return stem || 'default'
}
