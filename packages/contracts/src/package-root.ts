/**
 * Where the connrca package lies: the repository root in a checkout (running TypeScript or
 * dist/), or node_modules/connrca when installed from npm or a tarball. Files read at run time
 * (the dashboard, the ClickHouse migrations) keep the same paths relative to it in all three,
 * so one lookup serves them all. Imported by the CLI's start-up path: nothing heavy here.
 */
import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const NAME = 'connrca'
let found: { root: string; version: string } | undefined

function locate(): { root: string; version: string } {
  const start = path.dirname(fileURLToPath(import.meta.url))
  for (let dir = start; ; dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json')
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string }
      if (pkg.name === NAME) return { root: dir, version: pkg.version ?? '0.0.0' }
    }
    if (path.dirname(dir) === dir) throw new Error(`no package.json named "${NAME}" above ${start}`)
  }
}

/** The directory holding connrca's package.json. */
export function packageRoot(): string {
  found ??= locate()
  return found.root
}

/** The version in connrca's package.json, the one place it is kept. */
export function packageVersion(): string {
  found ??= locate()
  return found.version
}

/** A path inside the package, e.g. packagePath('infra', 'clickhouse'). */
export function packagePath(...parts: string[]): string {
  return path.join(packageRoot(), ...parts)
}
