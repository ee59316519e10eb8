import { Config } from './index.js'
import { strictIssues } from './strict.js'

/** Environment variables that override the file, for containers and secrets. */
const ENV_OVERRIDES: Record<string, { path: string; apply: (c: Record<string, any>, v: string) => void }> = {
  CONNRCA_STORE_URL: { path: 'store.url', apply: (c, v) => (section(c, 'store').url = v) },
  CONNRCA_STORE_USER: { path: 'store.username', apply: (c, v) => (section(c, 'store').username = v) },
  CONNRCA_STORE_PASSWORD: { path: 'store.password', apply: (c, v) => (section(c, 'store').password = v) },
  CONNRCA_DATA_DIR: { path: 'store.dataDir', apply: (c, v) => (section(c, 'store').dataDir = v) },
  CONNRCA_API_TOKEN: { path: 'api.token', apply: (c, v) => (section(c, 'api').token = v) },
  CONNRCA_API_HOST: { path: 'api.host', apply: (c, v) => (section(c, 'api').host = v) },
  // a number only when it reads as one: "80a" stays a string, so the error names the variable
  CONNRCA_API_PORT: { path: 'api.port', apply: (c, v) => (section(c, 'api').port = /^\d+$/.test(v) ? Number(v) : v) },
  KAFKA_BROKERS: { path: 'kafka.brokers', apply: (c, v) => (section(c, 'kafka').brokers = v.split(',').map((b) => b.trim())) },
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
  // unknown keys and unit-less durations of the file itself, before env values join it
  const strict = strictIssues(Config, doc)
  const fromEnv = new Map<string, string>()
  for (const [name, { path, apply }] of Object.entries(ENV_OVERRIDES)) {
    const v = env[name]
    if (v !== undefined && v !== '') {
      apply(doc, v)
      fromEnv.set(path, name)
    }
  }
  const result = Config.safeParse(doc)
  const issues = [...strict, ...(result.success ? [] : result.error.issues)]
  if (issues.length) throw new ConfigError(formatIssues(issues, origin, fromEnv))
  return result.data!
}

function formatIssues(issues: { path: PropertyKey[]; message: string }[], origin: string, fromEnv: Map<string, string>): string {
  return issues
    .map((i) => {
      const path = i.path.map(String).join('.')
      const env = [...fromEnv].find(([p]) => path === p || path.startsWith(`${p}.`))?.[1]
      // a value from the environment is named by its variable: the file does not hold it
      if (env) return `${env}: ${i.message} (it sets ${path})`
      return `${origin}: ${path ? `${path}: ` : ''}${i.message}`
    })
    .join('\n')
}
