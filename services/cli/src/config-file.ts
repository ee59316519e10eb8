import { existsSync, readFileSync } from 'node:fs'
import { type Config, ConfigError, parseConfig } from '@connrca/contracts'
import { compilePrefix } from '@connrca/pglog'
import { parse as parseYaml } from 'yaml'
import { UserError } from './errors.js'

export const DEFAULT_CONFIG_FILE = 'connrca.yaml'

/** Reads connrca.yaml (or the given file), applies env overrides, validates. Absent default file = defaults. */
export function loadConfig(path?: string, env: NodeJS.ProcessEnv = process.env): Config {
  const file = path ?? env.CONNRCA_CONFIG ?? (existsSync(DEFAULT_CONFIG_FILE) ? DEFAULT_CONFIG_FILE : undefined)
  let raw: unknown = {}
  if (file) {
    let text: string
    try {
      text = readFileSync(file, 'utf8')
    } catch (err) {
      throw new UserError(`cannot read config ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`)
    }
    try {
      raw = parseYaml(text) ?? {}
    } catch (err) {
      throw new UserError(`${file}: not valid YAML: ${(err as Error).message.split('\n')[0]}`)
    }
  }
  let config: Config
  try {
    config = parseConfig(raw, env, file ?? 'defaults')
  } catch (err) {
    if (err instanceof ConfigError) throw new UserError(err.message)
    throw err
  }
  // a bad log_line_prefix is one line at start naming file and key, not a dead letter per line
  config.sources.forEach((s, i) => {
    if (s.prefix === undefined) return
    try {
      compilePrefix(s.prefix)
    } catch (e) {
      throw new UserError(`${file}: sources.${i}.prefix: ${(e as Error).message}`)
    }
  })
  return config
}
