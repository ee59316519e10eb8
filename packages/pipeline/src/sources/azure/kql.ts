export type AzureTable = 'AzureDiagnostics' | 'PGSQLServerLogs'

/**
 * Columns handed to the parser per table. AzureDiagnostics is one wide table shared by every
 * Azure service, and its `_s`/`_d` columns exist only once some resource wrote them, so every
 * column is read through column_ifexists: a workspace without one still answers.
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
    ['prefix_s', 'string'],
    ['timestamp_s', 'string'],
    ['backend_type_s', 'string'],
  ],
  PGSQLServerLogs: [
    ['Message', 'string'],
    ['ErrorLevel', 'string'],
    ['SqlErrorCode', 'string'],
    ['ProcessId', 'int'],
    ['LogicalServerName', 'string'],
    ['_ResourceId', 'string'],
    ['Prefix', 'string'],
    ['BackendType', 'string'],
  ],
}

/**
 * Words that occur in every connection-related server message; `has_any` uses the term index, so
 * this is cheap. `has` matches whole terms ("connection" does not match "connections"), so every
 * failure text of the classifier's catalog must contain one of these words as a term.
 */
const CONNECTION_TERMS = [
  'connection',
  'connections',
  'clients',
  'Virtual',
  'allowed',
  'authentication',
  'password',
  'pg_hba.conf',
  'SSL',
  'TLS',
  'startup',
  'terminating',
  'shutting',
  'recovery',
  'role',
  'database',
  'slots',
  'could',
]

export interface QueryOptions {
  connectionsOnly: boolean
  /** Rows to return at most; one more than the split threshold, so a full slice is recognisable. */
  take: number
}

function datetime(ms: number): string {
  return `datetime(${new Date(ms).toISOString()})`
}

/** KQL for one table and one time slice [from, to), oldest first, with a stable row key `_ItemId`. */
export function buildQuery(table: AzureTable, from: number, to: number, opts: QueryOptions): string {
  const lines: string[] = [table]
  lines.push(`| where TimeGenerated >= ${datetime(from)} and TimeGenerated < ${datetime(to)}`)
  if (table === 'AzureDiagnostics') lines.push('| where Category == "PostgreSQLLogs"')
  if (opts.connectionsOnly)
    lines.push(`| where Message has_any (${CONNECTION_TERMS.map((t) => JSON.stringify(t)).join(', ')})`)
  const cols = COLUMNS[table].map(([c, type]) => `${c} = column_ifexists("${c}", ${emptyOf(type)})`)
  lines.push(`| project TimeGenerated, _ItemId, ${cols.join(', ')}`)
  lines.push('| order by TimeGenerated asc')
  lines.push(`| take ${opts.take}`)
  return lines.join('\n')
}

function emptyOf(type: string): string {
  return type === 'string' ? '""' : `${type}(null)`
}
