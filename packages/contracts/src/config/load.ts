import type { z } from 'zod'
import { Config } from './index.js'

/** Environment variables that override the file, for containers and secrets. */
const ENV_OVERRIDES: Record<string, (c: Record<string, any>, v: string) => void> = {
  CONNRCA_STORE_URL: (c, v) => section(c, 'store').url = v,
  CONNRCA_STORE_USER: (c, v) => section(c, 'store').username = v,
  CONNRCA_STORE_PASSWORD: (c, v) => section(c, 'store').password = v,
  CONNRCA_DATA_DIR: (c, v) => section(c, 'store').dataDir = v,
  CONNRCA_API_TOKEN: (c, v) => section(c, 'api').token = v,
  CONNRCA_API_HOST: (c, v) => section(c, 'api').host = v,
  CONNRCA_API_PORT: (c, v) => section(c, 'api').port = Number(v),
  KAFKA_BROKERS: (c, v) => section(c, 'kafka').brokers = v.split(',').map((b) => b.trim()),
}

function section(c: Record<string, any>, name: string): Record<string, any> {
  c[name] ??= {}
  return c[name]
}

export class ConfigError extends Error {}

/**
 * Validates a parsed config document (YAML/JSON) with env overrides applied.
 * Every problem is reported as `origin: path.to.field: message` on its own line.
 */
export function parseConfig(raw: unknown, env: Record<string, string | undefined> = {}, origin = 'config'): Config {
  const doc: Record<string, any> = raw && typeof raw === 'object' ? structuredClone(raw as object) : {}
  if (raw !== undefined && raw !== null && (typeof raw !== 'object' || Array.isArray(raw))) {
    throw new ConfigError(`${origin}: expected a mapping at the top level`)
  }
  for (const [name, apply] of Object.entries(ENV_OVERRIDES)) {
    const v = env[name]
    if (v !== undefined && v !== '') apply(doc, v)
  }
  const result = Config.safeParse(doc)
  if (!result.success) throw new ConfigError(formatIssues(result.error, origin))
  return result.data
}

function formatIssues(error: z.ZodError, origin: string): string {
  return error.issues
    .map((i) => `${origin}: ${i.path.length ? `${i.path.join('.')}: ` : ''}${i.message}`)
    .join('\n')
}
