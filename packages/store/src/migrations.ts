/**
 * Versioned schema migrations: infra/clickhouse/NNN_name.sql, applied in name order and
 * recorded in `schema_migrations`. Statements must be idempotent (IF NOT EXISTS ...), which is
 * what makes two processes migrating the same server at once safe: ClickHouse has no
 * transactional DDL or locks to lean on, so a migration applied twice must be harmless.
 */
import { createHash } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import path from 'node:path'
import type { ClickHouseClient } from '@clickhouse/client'
import { packagePath } from '@connrca/contracts/package-root'
import { splitStatements } from './sql-lexer.js'

export class MigrationError extends Error {}

export interface Migration {
  name: string
  checksum: string
  statements: string[]
}

const FILE_RE = /^\d{3}_[A-Za-z0-9_.-]+\.sql$/

/** infra/clickhouse in the connrca package (checkout or installed), unless CONNRCA_MIGRATIONS_DIR says otherwise. */
export function defaultMigrationsDir(): string {
  const fromEnv = process.env.CONNRCA_MIGRATIONS_DIR
  if (fromEnv) return fromEnv
  return packagePath('infra', 'clickhouse')
}

export interface MigrationVars {
  ttl_days: number
}

/** Reads and splits every migration file; `{{var}}` placeholders are substituted from `vars`. */
export async function loadMigrations(dir: string, vars: MigrationVars): Promise<Migration[]> {
  let names: string[]
  try {
    names = (await readdir(dir)).filter((n) => FILE_RE.test(n)).sort()
  } catch (err) {
    throw new MigrationError(`migrations: cannot read ${dir}: ${(err as Error).message}`)
  }
  const out: Migration[] = []
  for (const name of names) {
    const text = await readFile(path.join(dir, name), 'utf8')
    const substituted = text.replace(/\{\{(\w+)\}\}/g, (_m, key: string) => {
      const v = (vars as unknown as Record<string, unknown>)[key]
      if (v === undefined) throw new MigrationError(`${path.join(dir, name)}: unknown placeholder {{${key}}}`)
      return String(v)
    })
    let statements: string[]
    try {
      statements = splitStatements(substituted)
    } catch (err) {
      throw new MigrationError(`${path.join(dir, name)}: ${(err as Error).message}`)
    }
    // checksum over the template, so changing ttlDays is not mistaken for an edited migration
    const checksum = createHash('sha256').update(text.replace(/\r\n/g, '\n')).digest('hex').slice(0, 16)
    out.push({ name, checksum, statements })
  }
  return out
}

const BOOTSTRAP = `CREATE TABLE IF NOT EXISTS schema_migrations
(
    name       String,
    checksum   String,
    applied_at DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(applied_at)
ORDER BY name`

/** Applies pending migrations; returns the names applied by this call. */
export async function applyMigrations(client: ClickHouseClient, migrations: Migration[]): Promise<string[]> {
  await client.command({ query: BOOTSTRAP })
  const rs = await client.query({
    query: 'SELECT name, argMax(checksum, applied_at) AS checksum FROM schema_migrations GROUP BY name',
    format: 'JSONEachRow',
  })
  const applied = new Map((await rs.json<{ name: string; checksum: string }>()).map((r) => [r.name, r.checksum]))
  const done: string[] = []
  for (const m of migrations) {
    const prior = applied.get(m.name)
    if (prior !== undefined) {
      if (prior !== m.checksum) {
        throw new MigrationError(
          `migration ${m.name} was changed after it was applied (checksum ${prior} -> ${m.checksum}); add a new migration instead`,
        )
      }
      continue
    }
    for (const [i, sql] of m.statements.entries()) {
      try {
        await client.command({ query: sql })
      } catch (err) {
        throw new MigrationError(`migration ${m.name}, statement ${i + 1}: ${(err as Error).message.trim()}`)
      }
    }
    await client.command({
      query: `INSERT INTO schema_migrations (name, checksum, applied_at) VALUES ({name:String}, {checksum:String}, now64(3))`,
      query_params: { name: m.name, checksum: m.checksum },
    })
    done.push(m.name)
  }
  return done
}

/** Tables whose TTL follows store.ttlDays; migrations create them with the value current then. */
const TTL_TABLES = ['connection_events', 'dead_letters']

/** Brings the TTL of raw tables in line with ttlDays (a config change after the table was created). */
export async function reconcileTtl(client: ClickHouseClient, database: string, ttlDays: number): Promise<void> {
  const rs = await client.query({
    query: `SELECT name, engine_full FROM system.tables WHERE database = {db:String} AND name IN {names:Array(String)}`,
    query_params: { db: database, names: TTL_TABLES },
    format: 'JSONEachRow',
  })
  for (const t of await rs.json<{ name: string; engine_full: string }>()) {
    if (!t.engine_full.includes('TTL')) continue
    if (t.engine_full.includes(`toIntervalDay(${ttlDays})`)) continue
    await client.command({ query: `ALTER TABLE ${t.name} MODIFY TTL ingested_at + INTERVAL ${ttlDays} DAY` })
  }
}
