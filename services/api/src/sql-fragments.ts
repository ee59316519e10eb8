/**
 * Building blocks for the API's queries. User input only ever travels as ClickHouse query
 * parameters ({name:Type}); the SQL text is assembled from the constants below, chosen by
 * validated enums, never from request strings.
 */

/** Epoch ms as a JSON number (Int64 would be quoted in JSON output). */
export const ms = (col: string): string => `toFloat64(toUnixTimestamp64Milli(${col}))`

export const FROM_MS = 'fromUnixTimestamp64Milli({from:Int64})'
export const TO_MS = 'fromUnixTimestamp64Milli({to:Int64})'

export interface Filters {
  server?: string[]
  category?: string[]
}

/** `AND server IN {server:Array(String)}` etc. for the filters that are set. */
export function filterSql(
  f: Filters,
  params: Record<string, unknown>,
  cols = { server: 'server', category: 'category' },
) {
  let sql = ''
  if (f.server?.length) {
    sql += ` AND ${cols.server} IN {server:Array(String)}`
    params.server = f.server
  }
  if (f.category?.length) {
    sql += ` AND ${cols.category} IN {category:Array(String)}`
    params.category = f.category
  }
  return sql
}

export function bucket(col: string): string {
  return `intDiv(toUnixTimestamp64Milli(${col}), {step:Int64}) * {step:Int64}`
}

export const num = (v: unknown): number => (typeof v === 'number' ? v : Number(v))
