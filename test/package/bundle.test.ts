/**
 * What `pnpm build` emits (scripts/build.ts), read from esbuild's metafile of a build into a
 * temporary directory: JavaScript with source maps, and a start-up path per command that loads
 * only what the command uses (`connrca --help` nothing from node_modules, `analyze` no Kafka and
 * no Azure code). test/package/install.test.ts runs the same build once installed.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { Metafile } from 'esbuild'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { build, DIST_CLI } from '../../scripts/build.js'
import { connrcaNodeArgs, REPO } from '../support/cli.js'

const out = mkdtempSync(path.join(tmpdir(), 'connrca-bundle-'))
let meta: Metafile

/** Output files a chunk loads before it runs (static imports, transitively), itself included. */
function loadedWith(file: string, seen = new Set<string>()): Set<string> {
  if (seen.has(file)) return seen
  seen.add(file)
  for (const i of meta.outputs[file].imports) if (i.kind === 'import-statement' && !i.external) loadedWith(i.path, seen)
  return seen
}

/** The output file `connrca <command>` imports (cli.js for none). */
function startUpEntry(command: string | undefined): string {
  const entry = Object.keys(meta.outputs).find((f) =>
    command === undefined ? f.endsWith('/cli.js') : new RegExp(`/${command}-[A-Z0-9]+\\.js$`).test(f),
  )
  if (!entry) throw new Error(`no output for ${command ?? 'cli.js'}`)
  return entry
}

/** The npm packages (and workspace folders) bundled into what `connrca <command>` loads before it runs. */
function startUp(command: string | undefined): { packages: Set<string>; bytes: number } {
  const entry = startUpEntry(command)
  const packages = new Set<string>()
  let bytes = 0
  for (const f of loadedWith(entry)) {
    bytes += meta.outputs[f].bytes
    for (const input of Object.keys(meta.outputs[f].inputs)) {
      const npm = /node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+)\//.exec(input)
      packages.add(npm ? npm[1] : input.split('/').slice(0, 2).join('/'))
    }
  }
  return { packages, bytes }
}

/** Which of the two big client libraries a command loads at start: kafkajs, the Azure SDK (@azure/*). */
function clients(command: string): string[] {
  const { packages } = startUp(command)
  return [packages.has('kafkajs') && 'kafkajs', [...packages].some((p) => p.startsWith('@azure/')) && '@azure'].filter(
    (p): p is string => typeof p === 'string',
  )
}

beforeAll(async () => {
  meta = (await build({ outdir: out })).metafile
}, 60_000)
afterAll(() => rmSync(out, { recursive: true, force: true }))

describe('pnpm build', () => {
  it('is a build, not the type check', () => {
    const { scripts } = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>
    }
    expect(scripts.build).toBe('tsx scripts/build.ts')
    expect(scripts.build).not.toBe(scripts.typecheck)
  })

  it('emits JavaScript with a source map per file that leads back to the TypeScript', () => {
    const js = readdirSync(out).filter((f) => f.endsWith('.js'))
    expect(js).toContain('cli.js')
    const mapped = new Set<string>()
    for (const f of js) {
      const text = readFileSync(path.join(out, f), 'utf8')
      expect(text.trimEnd().endsWith(`//# sourceMappingURL=${f}.map`), f).toBe(true)
      const map = JSON.parse(readFileSync(path.join(out, `${f}.map`), 'utf8')) as { sources: string[] }
      for (const s of map.sources) mapped.add(path.relative(REPO, path.resolve(out, s)))
    }
    // every TypeScript file that became code (barrels of re-exports become none)
    const ours = Object.values(meta.outputs)
      .flatMap((o) => Object.entries(o.inputs))
      .filter(([i, o]) => o.bytesInOutput > 0 && i.endsWith('.ts') && !i.includes('node_modules'))
      .map(([i]) => i)
    expect(ours).toContain('services/cli/src/main.ts')
    for (const i of ours) {
      expect(mapped.has(i), i).toBe(true)
      expect(existsSync(path.join(REPO, i)), i).toBe(true)
    }
  })

  it('connrca --help and --version load no dependency: a few KB of the CLI', () => {
    const { packages, bytes } = startUp(undefined)
    expect([...packages].filter((p) => !p.startsWith('services/') && !p.startsWith('packages/'))).toEqual([])
    expect(bytes).toBeLessThan(30_000)
  })

  it('kafkajs is loaded at start only by commands that talk to Kafka, the Azure SDK only when an Azure source starts', () => {
    const commands = ['analyze', 'classify', 'generate', 'why', 'sql', 'migrate', 'azure', 'notify', 'service', 'run']
    const loads = Object.fromEntries(commands.map((c) => [c, clients(c)]))
    expect(loads).toEqual({
      analyze: [],
      classify: [],
      generate: [],
      why: [],
      sql: [],
      migrate: [],
      azure: [],
      notify: ['kafkajs'],
      // each stage imports its own client libraries when `connrca service <name>` starts it
      service: [],
      run: ['kafkajs'],
    })
    // bundled all the same, in chunks loaded by import()
    const bundled = Object.values(meta.outputs).flatMap((o) => Object.keys(o.inputs))
    for (const sdk of ['@azure/identity', '@azure/monitor-query-logs'])
      expect(bundled.some((i) => i.includes(`/node_modules/${sdk}/`))).toBe(true)
  })

  it('connrca service <name> loads its own stage and no other', () => {
    const stages = ['collector', 'classifier', 'aggregator', 'notifier', 'api']
    const loaded = Object.fromEntries(
      stages.map((stage) => {
        const entry = Object.keys(meta.outputs).find(
          (f) => meta.outputs[f].entryPoint === `services/${stage}/src/index.ts`,
        )
        if (!entry) throw new Error(`no chunk imported for service ${stage}`)
        const services = new Set<string>()
        for (const f of [...loadedWith(entry), ...loadedWith(startUpEntry('service'))])
          for (const input of Object.keys(meta.outputs[f].inputs)) {
            const m = /^services\/([^/]+)\//.exec(input)
            if (m && m[1] !== 'cli') services.add(m[1])
          }
        return [stage, [...services]]
      }),
    )
    expect(loaded).toEqual(Object.fromEntries(stages.map((s) => [s, [s]])))
  })

  it("bundles zod's English messages only, not its 60 other locales", () => {
    const locales = Object.values(meta.outputs)
      .flatMap((o) => Object.keys(o.inputs))
      .filter((i) => /\/zod\/v4\/locales\/[^/]+\.js$/.test(i))
      .map((i) => path.basename(i))
    expect(locales.sort()).toEqual(['en-only.js', 'en.js'])
  })

  it('the workspace modules do nothing when imported (what lets the build drop unused re-exports)', () => {
    // Registering a module's own schemas is harmless: when none of its exports is used, no schema
    // can be looked up in the registry either.
    const registersOwn = new Set([
      'packages/contracts/src/config/duration.ts: DURATION_SCHEMAS.add(',
      'packages/contracts/src/config/pipeline.ts: DURATION_SCHEMAS.add(',
    ])
    const offending: string[] = []
    const walk = (dir: string) => {
      for (const e of readdirSync(dir)) {
        const p = path.join(dir, e)
        if (statSync(p).isDirectory()) walk(p)
        else if (p.endsWith('.ts') && p !== path.join(REPO, 'services', 'cli', 'src', 'main.ts')) {
          const text = readFileSync(p, 'utf8')
          // a bare `import './x.js'`, or a statement at the top level that calls something
          for (const m of text.matchAll(
            /^(?:import\s+['"][^'"]+['"]|(?:await\s+|void\s+|new\s+)?[\w$.]+(?:<[^>]*>)?\()/gm,
          ))
            if (!registersOwn.has(`${path.relative(REPO, p)}: ${m[0]}`))
              offending.push(`${path.relative(REPO, p)}: ${m[0]}`)
        }
      }
    }
    for (const root of ['packages', 'services'])
      for (const pkg of readdirSync(path.join(REPO, root))) {
        const src = path.join(REPO, root, pkg, 'src')
        if (existsSync(src)) walk(src)
      }
    expect(offending).toEqual([])
  })

  it('connrca service <name> children run the compiled dist/cli.js, as the image does', () => {
    expect(connrcaNodeArgs(['service', 'collector'])).toEqual([DIST_CLI, 'service', 'collector'])
  })
})
