// Azure Monitor rows: AzureDiagnostics (Category 'PostgreSQLLogs': Message, errorLevel_s, sqlerrcode_s,
// processId_d, LogicalServerName_s, ...) and PGSQLServerLogs (ErrorLevel, SqlErrorCode, ProcessId,
// LogicalServerName, ...). Message usually still carries the server's log_line_prefix; it is stripped with
// the loose prefix matcher, which also yields user/db/app when the prefix has them.

import { DEAD_LETTER_RAW_LIMIT, type DeadLetter, type LogRecord, type SourceRef } from '@connrca/contracts'
import { clip } from './common.js'
import { loosePrefix } from './loose-prefix.js'
import { PrefixFields } from './prefix.js'
import { recordId } from './record-id.js'
import { SeverityScan, severityOf } from './severity.js'
import { parseTimestamp, TimestampParser } from './timestamp.js'

export interface AzureRowOptions {
  /** server name when the row names none */
  server?: string
  source?: { kind: SourceRef['kind']; name: string }
  /** position for the id; default: the row's _ItemId, else a key built from time, pid and message */
  position?: number | string
}

const fields = new PrefixFields()
const ts = new TimestampParser()
const sev = new SeverityScan()

function pick(row: Record<string, unknown>, ...keys: string[]): unknown {
  for (const k of keys) {
    const v = row[k]
    if (v !== undefined && v !== null && v !== '') return v
  }
  return undefined
}

function text(v: unknown): string | undefined {
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined
}

export function isDeadLetter(x: LogRecord | DeadLetter): x is DeadLetter {
  return (x as DeadLetter).stage !== undefined
}

/** One Azure Monitor row -> LogRecord, or a DeadLetter saying what is missing. */
export function parseAzureRow(row: Record<string, unknown>, opts: AzureRowOptions = {}): LogRecord | DeadLetter {
  const source = opts.source ?? { kind: 'azure' as const, name: 'azure' }
  const message = text(pick(row, 'Message', 'message', 'Message_s'))
  const resourceId = text(pick(row, '_ResourceId', 'ResourceId'))
  const server =
    text(pick(row, 'LogicalServerName_s', 'LogicalServerName', 'ServerName_s', 'ServerName')) ??
    (resourceId ? resourceId.slice(resourceId.lastIndexOf('/') + 1).toLowerCase() : undefined) ??
    opts.server ??
    'default'
  const generated = text(pick(row, 'TimeGenerated', 'timeGenerated', 'TimeGenerated [UTC]'))
  // a number or its text only: Number() or a template of an object runs its toString/valueOf,
  // which a JSON row can set to a non-function (TypeError: Cannot convert object to primitive value)
  const pidText = text(pick(row, 'processId_d', 'ProcessId', 'processId', 'ProcessId_d'))
  const pidN = pidText === undefined ? Number.NaN : Number(pidText)
  const pid = Number.isSafeInteger(pidN) ? pidN : undefined
  const position =
    opts.position ??
    text(pick(row, '_ItemId', 'ItemId')) ??
    `${generated ?? ''}/${pidText ?? ''}/${message === undefined ? '' : recordId('', message)}`
  const ref: SourceRef = { kind: source.kind, name: source.name, position }
  const id = recordId(source.name, position)
  const dead = (reason: string): DeadLetter => {
    const raw = serialise(row)
    return {
      id,
      stage: 'parse',
      reason,
      raw: raw.length > DEAD_LETTER_RAW_LIMIT ? raw.slice(0, DEAD_LETTER_RAW_LIMIT) : raw,
      server,
      source: ref,
      time: Date.now(),
    }
  }
  if (message === undefined) return dead('azure row: missing Message')
  const category = text(pick(row, 'Category', 'category'))
  if (category !== undefined && category !== 'PostgreSQLLogs' && category !== 'PostgreSQLFlexLogs')
    return dead(`azure row: Category '${clip(category, 40)}' is not PostgreSQLLogs`)

  // strip the log_line_prefix if the message still has it
  let body = message
  let time = Number.NaN
  let severity = severityOf(text(pick(row, 'errorLevel_s', 'ErrorLevel', 'errorLevel')) ?? '')
  let sqlstate = text(pick(row, 'sqlerrcode_s', 'SqlErrorCode', 'sqlerrcode'))
  const end = loosePrefix.match(message, 0, fields, ts, sev)
  let prefixed = false
  if (end >= 0 && sev.scan(message, end)) {
    prefixed = true
    fields.resolve()
    body = message.slice(sev.msgStart)
    time = fields.time
    severity ??= sev.severity
    sqlstate ??= sev.sqlstate
  } else if (sev.scan(message, 0)) {
    body = message.slice(sev.msgStart)
    severity ??= sev.severity
  }
  if (Number.isNaN(time) && generated !== undefined) time = parseTimestamp(generated)
  if (Number.isNaN(time)) return dead('azure row: missing or bad TimeGenerated')
  if (severity === undefined) return dead('azure row: no error level (errorLevel_s / ErrorLevel)')
  return {
    id,
    server,
    time,
    severity,
    message: body,
    sqlstate: sqlstate || undefined,
    // On Azure DETAIL and its siblings are columns, not rows: PGSQLServerLogs' DetailLog (the
    // server-log-only detail, where PostgreSQL says why a password failed) or Detail, and the
    // AzureDiagnostics `_s` columns of the same fields.
    detail: text(pick(row, 'DetailLog', 'Detail', 'detail_log_s', 'detail_s')),
    hint: text(pick(row, 'Hint', 'hint_s')),
    context: text(pick(row, 'Context', 'context_s')),
    statement: text(pick(row, 'Statement', 'statement_s')),
    pid: pid !== undefined && Number.isFinite(pid) ? pid : prefixed && fields.pid >= 0 ? fields.pid : undefined,
    sessionId: prefixed ? fields.sessionId : undefined,
    user: text(pick(row, 'UserName', 'userName_s', 'User')) ?? (prefixed ? fields.user : undefined),
    database: text(pick(row, 'DatabaseName', 'databaseName_s', 'DBName')) ?? (prefixed ? fields.database : undefined),
    clientIp: prefixed ? fields.clientIp : undefined,
    clientPort: undefined,
    application: prefixed ? fields.application : undefined,
    backendType: text(pick(row, 'BackendType', 'backendType_s')),
    source: ref,
  }
}

/** The row as JSON for a dead letter; a row too deep or cyclic to serialise is described instead. */
function serialise(row: Record<string, unknown>): string {
  try {
    return JSON.stringify(row) ?? String(row)
  } catch (err) {
    return `[row not serialisable: ${(err as Error).message}; keys: ${Object.keys(row).slice(0, 20).join(', ')}]`
  }
}
