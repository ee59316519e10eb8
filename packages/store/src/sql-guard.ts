/**
 * Static check for user SQL (`connrca sql`, POST /api/v1/sql). It is the first of two fences:
 * the query also runs with `readonly = 1`. The check refuses what readonly alone does not stop
 * (table functions that read local files or reach other hosts, system tables that hold
 * credentials, INTO OUTFILE on the embedded engine) and anything it cannot vouch for
 * (several statements, SETTINGS clauses, which could switch readonly off in a subquery).
 */
import { SqlLexError, type Token, tokenize } from './sql-lexer.js'

export class SqlRefused extends Error {
  override name = 'SqlRefused'
}

const LEADING = new Set(['select', 'with', 'show', 'describe', 'desc', 'explain', 'exists', '('])

/** SHOW forms that only list schema objects. */
const SHOW_ALLOWED = new Set([
  'tables',
  'databases',
  'columns',
  'fields',
  'full',
  'extended',
  'create',
  'index',
  'indexes',
  'indices',
  'keys',
  'dictionaries',
  'functions',
  'engines',
])
/** SHOW CREATE <kind> forms that may reveal credentials or access rules. */
const SHOW_CREATE_REFUSED = new Set([
  'user',
  'users',
  'role',
  'roles',
  'quota',
  'quotas',
  'policy',
  'row',
  'settings',
  'profile',
  'profiles',
  'dictionary',
  'named',
])

/** Table functions / functions that read local files, run programs or reach other servers. */
const FUNCTIONS_REFUSED = new Set([
  'file',
  'filecluster',
  'url',
  'urlcluster',
  'input',
  'gcs',
  'oss',
  'cosn',
  'hive',
  'merge',
  'filesystem',
  'loop',
])
const FUNCTION_PREFIXES_REFUSED = [
  's3',
  'hdfs',
  'azure',
  'iceberg',
  'deltalake',
  'hudi',
  'paimon',
  'remote',
  'cluster',
  'mysql',
  'postgres',
  'mongo',
  'redis',
  'sqlite',
  'jdbc',
  'odbc',
  'executable',
  'arrowflight',
  'ytsaurus',
  'prometheus',
  'timeseries',
  'kafka',
  'nats',
  'rabbitmq',
]

/**
 * System tables that describe schema and activity but hold no secrets. Everything else in
 * `system` is refused: users, grants, roles, quotas, row policies, named collections,
 * settings profiles, query/text logs (statements can carry passwords), processes, dictionaries
 * (sources embed credentials), zookeeper, server settings.
 */
const SYSTEM_ALLOWED = new Set([
  'one',
  'numbers',
  'numbers_mt',
  'zeros',
  'zeros_mt',
  'tables',
  'columns',
  'databases',
  'parts',
  'parts_columns',
  'projection_parts',
  'detached_parts',
  'data_skipping_indices',
  'functions',
  'table_functions',
  'table_engines',
  'formats',
  'data_type_families',
  'aggregate_function_combinators',
  'time_zones',
  'collations',
  'merges',
  'mutations',
  'metrics',
  'events',
  'asynchronous_metrics',
  'build_options',
])

function refuse(message: string): never {
  throw new SqlRefused(message)
}

/**
 * Returns the statement without a trailing `;`, or throws SqlRefused with a one-line reason.
 * Allowed: SELECT, WITH, SHOW (schema listings), DESCRIBE, EXPLAIN of a SELECT, EXISTS.
 */
export function checkReadOnlySql(sql: string): string {
  let tokens: Token[]
  try {
    tokens = tokenize(sql)
  } catch (err) {
    if (err instanceof SqlLexError) refuse(`cannot read the statement: ${err.message}`)
    throw err
  }
  // one statement; a single trailing `;` is fine
  const semi = tokens.findIndex((t) => t.kind === 'punct' && t.text === ';')
  if (semi !== -1) {
    if (semi !== tokens.length - 1) refuse('only one statement per request (found `;` between statements)')
    tokens = tokens.slice(0, semi)
  }
  if (tokens.length === 0) refuse('empty statement')
  const statement = sql.slice(tokens[0].start, tokens[tokens.length - 1].end)

  const head = tokens[0]
  const lead = head.kind === 'word' || head.kind === 'punct' ? head.lower : ''
  if (!LEADING.has(lead)) {
    const word = head.kind === 'word' ? head.text.toUpperCase() : head.text
    refuse(`${word} is not allowed: only read-only statements (SELECT, WITH, SHOW, DESCRIBE, EXPLAIN) can run here`)
  }
  if (lead === 'show') checkShow(tokens)
  if (lead === 'explain') checkExplain(tokens)

  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]
    const prev = tokens[i - 1]
    const next = tokens[i + 1]
    const afterDot = prev?.kind === 'punct' && prev.text === '.'
    if (t.kind === 'word' && !afterDot) {
      switch (t.lower) {
        case 'settings':
          refuse('SETTINGS clauses are not allowed here (limits and readonly are set by connrca)')
          break
        case 'format':
          if (!(next?.kind === 'punct' && next.text === '('))
            refuse('FORMAT is chosen by connrca; use the format option instead')
          break
        case 'outfile':
          refuse('INTO OUTFILE is not allowed')
          break
      }
    }
    if ((t.kind === 'word' || t.kind === 'quoted') && !afterDot && next?.kind === 'punct' && next.text === '(') {
      if (isRefusedFunction(t.lower)) refuse(`${t.text}() is not allowed: it reads files or reaches other servers`)
    }
    if ((t.kind === 'word' || t.kind === 'quoted') && t.lower === 'system' && !afterDot) {
      if (next?.kind === 'punct' && next.text === '.') {
        const table = tokens[i + 2]
        if (!table || !(table.kind === 'word' || table.kind === 'quoted')) refuse('system tables must be named')
        if (!SYSTEM_ALLOWED.has(table.lower)) {
          refuse(`system.${table.text} is not readable here: it may hold credentials or other users' statements`)
        }
      }
    }
  }
  return statement
}

function isRefusedFunction(name: string): boolean {
  if (FUNCTIONS_REFUSED.has(name)) return true
  for (const p of FUNCTION_PREFIXES_REFUSED) if (name.startsWith(p)) return true
  return false
}

function checkShow(tokens: Token[]): void {
  const what = tokens[1]
  if (what?.kind !== 'word' || !SHOW_ALLOWED.has(what.lower)) {
    refuse(
      `SHOW ${what ? what.text.toUpperCase() : ''} is not allowed: use SHOW TABLES, SHOW DATABASES, SHOW COLUMNS or SHOW CREATE TABLE`.replace(
        '  ',
        ' ',
      ),
    )
  }
  if (what.lower === 'create') {
    const kind = tokens[2]
    if (kind && kind.kind === 'word' && SHOW_CREATE_REFUSED.has(kind.lower)) {
      refuse(`SHOW CREATE ${kind.text.toUpperCase()} is not allowed here`)
    }
  }
}

function checkExplain(tokens: Token[]): void {
  // EXPLAIN [AST|SYNTAX|QUERY TREE|PLAN|PIPELINE|ESTIMATE] [k = v, ...] <query>
  for (let i = 1; i < tokens.length; i++) {
    const t = tokens[i]
    if (t.kind === 'word' && (t.lower === 'select' || t.lower === 'with')) return
    if (t.kind === 'punct' && t.text === '(') return
    if (
      t.kind === 'word' &&
      [
        'ast',
        'syntax',
        'query',
        'tree',
        'plan',
        'pipeline',
        'estimate',
        'indexes',
        'header',
        'actions',
        'json',
        'description',
        'graph',
        'compact',
        'optimize',
        'run_passes',
        'dump_passes',
        'passes',
        'dump_ast',
        'dump_tree',
        'oneline',
        'keep_logical_steps',
        'projections',
        'sorting',
        'distributed',
      ].includes(t.lower)
    ) {
      continue
    }
    if (t.kind === 'number' || t.kind === 'op' || (t.kind === 'punct' && t.text === ',')) continue
    refuse(`EXPLAIN is only allowed for SELECT queries (found ${t.text.toUpperCase()})`)
  }
  refuse('EXPLAIN needs a SELECT query')
}
