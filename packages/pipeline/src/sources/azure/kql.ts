import { failureTerms } from '@connrca/classifier'

export type AzureTable = 'AzureDiagnostics' | 'PGSQLServerLogs'

/**
 * Columns handed to the parser per table, each read through column_ifexists: AzureDiagnostics is
 * one wide table shared by every Azure service whose `_s`/`_d` columns exist only once some
 * resource wrote them, and once it has 500 columns further fields land in `AdditionalFields`
 * (read too; the puller fills empty columns from it). PGSQLServerLogs
 * (learn.microsoft.com/azure/azure-monitor/reference/tables/pgsqlserverlogs) has no Category and
 * no Prefix; DETAIL (DetailLog: the server-log-only detail, where PostgreSQL says why a password
 * failed), HINT, CONTEXT and the statement are columns, not rows.
 */
export const COLUMNS: Record<AzureTable, Array<[name: string, type: string]>> = {
  AzureDiagnostics: [
    ['Message', 'string'],
    ['errorLevel_s', 'string'],
    ['sqlerrcode_s', 'string'],
    ['processId_d', 'real'],
    ['LogicalServerName_s', 'string'],
    ['Resource', 'string'],
    ['ResourceId', 'string'],
    ['backend_type_s', 'string'],
    ['detail_s', 'string'],
    ['detail_log_s', 'string'],
    ['hint_s', 'string'],
    ['context_s', 'string'],
    ['statement_s', 'string'],
    ['AdditionalFields', 'dynamic'],
  ],
  PGSQLServerLogs: [
    ['Message', 'string'],
    ['ErrorLevel', 'string'],
    ['SqlErrorCode', 'string'],
    ['ProcessId', 'int'],
    ['LogicalServerName', 'string'],
    ['_ResourceId', 'string'],
    ['BackendType', 'string'],
    ['Detail', 'string'],
    ['DetailLog', 'string'],
    ['Hint', 'string'],
    ['Context', 'string'],
    ['Statement', 'string'],
  ],
}

/**
 * `has_any` uses the term index, so this filter is cheap. The terms are the classifier's own
 * (failureTerms(): a whole word of every failure text and of the lines it reads around them),
 * so a failure the classifier knows is never dropped here; the catalog test checks that.
 */
const CONNECTION_TERMS = failureTerms()

/**
 * `ingestion`: scheduled pulls, by when rows became queryable (late rows are not skipped, as the
 * documentation recommends for exports); `event`: backfill, by TimeGenerated.
 */
export type Window = 'ingestion' | 'event'

export interface QueryOptions {
  connectionsOnly: boolean
  /** Rows to return at most; one more than the split threshold, so a full slice is recognisable. */
  take: number
  window: Window
}

function datetime(ms: number): string {
  return `datetime(${new Date(ms).toISOString()})`
}

/** KQL for one table and one slice [from, to), oldest first, with a stable row key `_ItemId`. */
export function buildQuery(table: AzureTable, from: number, to: number, opts: QueryOptions): string {
  const lines: string[] = [table]
  const key = opts.window === 'ingestion' ? 'ingestion_time()' : 'TimeGenerated'
  lines.push(`| where ${key} >= ${datetime(from)} and ${key} < ${datetime(to)}`)
  if (table === 'AzureDiagnostics') lines.push('| where Category == "PostgreSQLLogs"')
  if (opts.connectionsOnly)
    lines.push(`| where Message has_any (${CONNECTION_TERMS.map((t) => JSON.stringify(t)).join(', ')})`)
  const cols = COLUMNS[table].map(([c, type]) => `${c} = column_ifexists("${c}", ${emptyOf(type)})`)
  lines.push(`| project TimeGenerated, _ItemId, IngestionTime = ingestion_time(), ${cols.join(', ')}`)
  lines.push('| order by TimeGenerated asc')
  lines.push(`| take ${opts.take}`)
  return lines.join('\n')
}

function emptyOf(type: string): string {
  return type === 'string' ? '""' : `${type}(null)`
}
