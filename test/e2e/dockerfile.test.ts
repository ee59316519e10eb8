/**
 * The Dockerfile cannot be built here (no Docker engine); this checks its stages against the
 * package layout instead: the build stage gets every file `pnpm install` and `pnpm pack` read, the
 * package's `files` hold everything the code reads at run time (packagePath(...) call sites), and
 * the runtime stage is the packed tarball with production dependencies only, run as non-root.
 * test/package/install.test.ts proves the same tarball works once installed.
 */
import { execFile, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { DEFAULT_HEALTH_PORT, Metrics, startHealthServer } from '../../packages/observe/src/index.js'
import { DIST_CLI, EXTERNAL } from '../../scripts/build.js'
import { REPO } from '../support/cli.js'
import { freePort } from '../support/free-port.js'

interface Stage {
  name: string
  from: string
  lines: string[]
}

/** Instructions with their continuation lines joined, comments dropped, split per FROM. */
function stages(text: string): { args: Map<string, string>; stages: Stage[] } {
  const logical = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
  const args = new Map<string, string>()
  const out: Stage[] = []
  for (const line of logical) {
    const from = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?$/i.exec(line)
    if (from) out.push({ from: from[1], name: from[2] ?? String(out.length), lines: [] })
    else if (out.length === 0 && /^ARG /.test(line)) {
      const [k, v] = line.slice(4).split('=')
      args.set(k, v)
    } else out.at(-1)?.lines.push(line)
  }
  return { args, stages: out }
}

const pkg = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as {
  version: string
  packageManager: string
  bin: Record<string, string>
  files: string[]
  dependencies: Record<string, string>
}
const dockerfile = stages(readFileSync(path.join(REPO, 'Dockerfile'), 'utf8'))
const [build, runtime] = dockerfile.stages
/** Sources of the build stage's `COPY` lines (not `COPY --from`), without trailing slashes. */
const copied = build.lines
  .filter((l) => /^COPY\s/.test(l) && !l.includes('--from'))
  .flatMap((l) => l.split(/\s+/).slice(1, -1))
  .map((p) => p.replace(/\/$/, ''))
const isCopied = (file: string) => copied.some((c) => file === c || file.startsWith(`${c}/`))
const dockerignore = readFileSync(path.join(REPO, '.dockerignore'), 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter(Boolean)

describe('Dockerfile', () => {
  it('has a build stage and a runtime stage on the recommended Node (.nvmrc)', () => {
    expect(dockerfile.stages.map((s) => s.name)).toEqual(['build', 'runtime'])
    const node = readFileSync(path.join(REPO, '.nvmrc'), 'utf8').trim()
    expect(dockerfile.args.get('NODE_VERSION')).toBe(node)
    for (const s of dockerfile.stages) expect(s.from).toBe(['node:$', '{NODE_VERSION}-bookworm-slim'].join(''))
  })

  it('build: pnpm from npm at the packageManager version, no corepack, frozen lockfile, pack', () => {
    const pnpm = pkg.packageManager.replace(/^pnpm@/, '')
    expect(build.lines).toContain(`RUN npm install -g pnpm@${pnpm}`)
    expect(build.lines.join('\n')).not.toMatch(/corepack/)
    expect(build.lines).toContain('RUN pnpm install --frozen-lockfile')
    expect(build.lines).toContain('RUN pnpm pack --out /out/connrca.tgz')
  })

  it('build: copies every workspace package, the build script and the install files', () => {
    const workspace = readFileSync(path.join(REPO, 'pnpm-workspace.yaml'), 'utf8')
    const globs = [...workspace.matchAll(/^\s+-\s+'?([^'\s]+)\/\*'?$/gm)].map((m) => m[1])
    expect(globs.length).toBeGreaterThan(0)
    for (const dir of globs) {
      for (const p of readdirSync(path.join(REPO, dir))) {
        if (existsSync(path.join(REPO, dir, p, 'package.json')))
          expect(isCopied(`${dir}/${p}`), `${dir}/${p}`).toBe(true)
      }
    }
    for (const f of ['package.json', 'pnpm-lock.yaml', 'pnpm-workspace.yaml', 'tsconfig.json', 'scripts/build.ts'])
      expect(isCopied(f), f).toBe(true)
    for (const c of copied) {
      expect(existsSync(path.join(REPO, c)), c).toBe(true)
      expect(dockerignore, c).not.toContain(c)
    }
  })

  it('build: copies every file the package ships (package.json "files"), dist/ being built', () => {
    for (const entry of pkg.files) {
      const file = entry.replace(/\/$/, '').replace(/\/\*[^/]*$/, '')
      if (file === 'dist') continue
      expect(isCopied(file), entry).toBe(true)
    }
  })

  it('the package ships every path the code reads at run time (packagePath call sites)', () => {
    const reads: string[] = []
    const walk = (dir: string) => {
      for (const e of readdirSync(dir)) {
        const p = path.join(dir, e)
        if (e === 'node_modules' || e === 'test') continue
        if (statSync(p).isDirectory()) walk(p)
        else if (p.endsWith('.ts'))
          for (const m of readFileSync(p, 'utf8').matchAll(/packagePath\(((?:'[^']+'(?:, )?)+)\)/g))
            reads.push(
              m[1]
                .split(', ')
                .map((s) => s.slice(1, -1))
                .join('/'),
            )
      }
    }
    walk(path.join(REPO, 'packages'))
    walk(path.join(REPO, 'services'))
    expect([...new Set(reads)].sort()).toEqual(['infra/clickhouse', 'package.json', 'services/api/web'])
    const shipped = pkg.files.map((f) => f.replace(/\/$/, '').replace(/\/\*[^/]*$/, ''))
    for (const r of reads) {
      if (r === 'package.json') continue // npm always packs it
      expect(
        shipped.some((s) => r === s || r.startsWith(`${s}/`)),
        r,
      ).toBe(true)
    }
    // uPlot's files are read from node_modules, and the native addons stay out of the bundle:
    // runtime dependencies of the package itself, nothing else.
    expect(Object.keys(pkg.dependencies).sort()).toEqual([...EXTERNAL, 'uplot'].sort())
  })

  it('runtime: the tarball from the build stage with production dependencies only', () => {
    const text = runtime.lines.join('\n')
    expect(runtime.lines.filter((l) => l.startsWith('COPY'))).toEqual([
      'COPY --from=build /out/connrca.tgz /tmp/connrca.tgz',
    ])
    expect(text).toContain('npm install -g --omit=dev --no-audit --no-fund /tmp/connrca.tgz')
    expect(text).not.toMatch(/\b(pnpm|tsx|corepack)\b/)
    expect(text).toMatch(/NODE_ENV=production/)
  })

  it('runtime: non-root, labelled, health-checked, the package bin as entrypoint', () => {
    const user = runtime.lines.filter((l) => l.startsWith('USER ')).at(-1)
    expect(user).toBe('USER node')
    const labels = runtime.lines.filter((l) => l.startsWith('LABEL ')).join(' ')
    for (const key of ['title', 'description', 'documentation', 'base.name'])
      expect(labels).toContain(`org.opencontainers.image.${key}=`)
    const health = runtime.lines.find((l) => l.startsWith('HEALTHCHECK '))
    expect(health).toContain('/healthz')
    expect(health).toContain(String(DEFAULT_HEALTH_PORT))
    expect(runtime.lines.join('\n')).toMatch(new RegExp(`EXPOSE .*\\b${DEFAULT_HEALTH_PORT}\\b`))
    const entry = JSON.parse(/^ENTRYPOINT (\[.*\])$/m.exec(runtime.lines.join('\n'))?.[1] ?? '[]') as string[]
    expect(entry).toEqual(['node', `/usr/local/lib/node_modules/connrca/${pkg.bin.connrca}`])
  })

  describe('HEALTHCHECK, run as the image would', () => {
    const cmd = JSON.parse(/^HEALTHCHECK .*?CMD (\[.*\])$/m.exec(runtime.lines.join('\n'))?.[1] ?? '[]') as string[]
    /** The exit code of the HEALTHCHECK command (`node` being this test's Node). */
    const check = (env: Record<string, string>) =>
      new Promise<number | null>((done) => {
        const [node, ...args] = cmd
        expect(node).toBe('node')
        const child = execFile(process.execPath, args, { env: { ...process.env, ...env }, timeout: 10_000 })
        child.on('exit', (code) => done(code))
      })

    it('healthy when a service answers on CONNRCA_HEALTH_PORT, unhealthy when it reports down or nothing listens', async () => {
      let status: 'ok' | 'down' = 'ok'
      const server = await startHealthServer({
        port: 0,
        host: '127.0.0.1',
        metrics: new Metrics(),
        health: () => ({ status }),
      })
      const nothing = String(await freePort())
      try {
        expect(await check({ CONNRCA_HEALTH_PORT: String(server.port), CONNRCA_API_PORT: nothing })).toBe(0)
        status = 'down'
        expect(await check({ CONNRCA_HEALTH_PORT: String(server.port), CONNRCA_API_PORT: nothing })).toBe(1)
      } finally {
        await server.close()
      }
      expect(await check({ CONNRCA_HEALTH_PORT: String(server.port), CONNRCA_API_PORT: nothing })).toBe(1)
    })

    it('healthy while connrca run (compiled) serves its API, with no service health port', async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'connrca-healthcheck-'))
      writeFileSync(
        path.join(dir, 'x.log'),
        '2026-03-02 10:00:00.123 UTC [123] LOG:  connection received: host=10.0.0.1 port=5000\n',
      )
      const apiPort = String(await freePort())
      const child = spawn(process.execPath, [DIST_CLI, 'run', 'x.log'], {
        cwd: dir,
        env: { ...process.env, CONNRCA_API_PORT: apiPort },
        stdio: ['ignore', 'ignore', 'pipe'],
      })
      try {
        let log = ''
        await new Promise<void>((done, fail) => {
          child.stderr.on('data', (d) => {
            log += d
            if (log.includes('dashboard: ')) done()
          })
          child.on('exit', (code) => fail(new Error(`connrca run exited ${code}:\n${log}`)))
        })
        const env = { CONNRCA_HEALTH_PORT: String(await freePort()), CONNRCA_API_PORT: apiPort }
        expect(await check(env)).toBe(0)
        child.kill('SIGTERM')
        await new Promise((done) => child.once('exit', done))
        expect(await check(env)).toBe(1)
      } finally {
        child.kill('SIGKILL')
        rmSync(dir, { recursive: true, force: true })
      }
    }, 60_000)
  })
})
