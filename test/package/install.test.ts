/**
 * The package as users get it: `pnpm pack` gives the tarball, `npm install -g` puts it in a
 * temporary prefix (chDB and uPlot come from the npm registry, as for a user), and the installed
 * `connrca` runs from a directory outside the checkout with no help from it: the version, the
 * generator, `run --once` into a real chDB store (migrations from the package), the dashboard's
 * files and uPlot served, and the stored counts equal to the checkout's own `analyze`.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { delimiter, dirname, join, relative } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEFAULT_PREFIX, SAMPLE, SAMPLE_SERVERS, writeLogs, writtenSampleStart } from '@connrca/cli'
import { connrca, REPO } from '../support/cli.js'

const run = promisify(execFile)
const VERSION = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version

describe('the packed tarball, installed into a temporary prefix', () => {
  const home = realpathSync(mkdtempSync(join(tmpdir(), 'connrca-package-')))
  const prefix = join(home, 'prefix')
  const work = join(home, 'work')
  const bin = join(prefix, 'bin', 'connrca')
  // Only the installed package and the Node running this test (20 or 24: `#!/usr/bin/env node`
  // must find the same one); no CONNRCA_* from the caller, which could point back at the checkout.
  const env: NodeJS.ProcessEnv = {
    PATH: [join(prefix, 'bin'), dirname(process.execPath), process.env.PATH].join(delimiter),
    HOME: process.env.HOME,
    CONNRCA_API_PORT: '0',
    ...(process.env.NODE_EXTRA_CA_CERTS ? { NODE_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS } : {}),
    ...(process.env.npm_config_cache ? { npm_config_cache: process.env.npm_config_cache } : {}),
  }
  const installed = (args: string[]) => run(bin, args, { cwd: work, env, maxBuffer: 1 << 26 })
  const children: ChildProcess[] = []

  beforeAll(async () => {
    // dist/ is current (test/support/build-global.ts); prepack would rebuild it under the
    // `connrca service` children other test files run from it at the same time.
    const packed = await run('pnpm', ['--config.ignore-scripts=true', 'pack', '--pack-destination', home], {
      cwd: REPO,
      maxBuffer: 1 << 24,
    })
    const tarball = join(home, `connrca-${VERSION}.tgz`)
    expect(packed.stdout).toContain(tarball)
    await run('npm', ['install', '--global', '--prefix', prefix, '--no-audit', '--no-fund', tarball], {
      cwd: home,
      env: { ...process.env, ...env },
      maxBuffer: 1 << 24,
    })
    await run('mkdir', ['-p', work])
  }, 300_000)

  afterAll(() => {
    for (const c of children) c.kill('SIGKILL')
    rmSync(home, { recursive: true, force: true })
  })

  it('runs outside the checkout', () => {
    expect(relative(REPO, work).startsWith('..')).toBe(true)
    expect(realpathSync(bin)).toBe(join(prefix, 'lib', 'node_modules', 'connrca', 'dist', 'cli.js'))
  })

  it('prints its version', async () => {
    const { stdout } = await installed(['--version'])
    expect(stdout).toBe(`connrca ${VERSION}\n`)
  })

  it('keeps V8 code of the modules it loads in a compile cache on Node >= 22 (start-up time)', async () => {
    const tmp = join(home, 'tmp')
    mkdirSync(tmp)
    await run(bin, ['generate', '--out', join(tmp, 'x.log'), '--duration', '10m'], {
      cwd: work,
      env: { ...env, TMPDIR: tmp },
    })
    const cache = join(tmp, 'node-compile-cache')
    const [major, minor] = process.versions.node.split('.').map(Number)
    if (major > 22 || (major === 22 && minor >= 1)) {
      expect(existsSync(cache)).toBe(true)
      expect(readdirSync(cache, { recursive: true }).length).toBeGreaterThan(1)
    } else expect(existsSync(cache)).toBe(false) // Node 20 has none
  })

  it('run --once stores a generated log in chDB with the counts of the checkout analyze', async () => {
    await installed(['generate', '--out', 'gen.log', '--servers', '2', '--duration', '6h'])
    const once = await installed(['run', '--once', 'gen.log'])
    expect(once.stderr).toMatch(/caught up: [\d,]+ records, 0 unparsed/)

    const stored = await installed([
      'sql',
      'SELECT outcome, toString(count()) FROM connection_events FINAL GROUP BY outcome ORDER BY outcome',
      '--format',
      'json',
    ])
    const byOutcome = Object.fromEntries((JSON.parse(stored.stdout) as { rows: [string, string][] }).rows)
    const reference = await connrca(['analyze', join(work, 'gen.log'), '--json', '--no-store'])
    expect(reference.code).toBe(0)
    const { outcomes } = JSON.parse(reference.stdout) as { outcomes: Record<string, number> }
    expect(outcomes.failed).toBeGreaterThan(0)
    // run stores received and failed connections (store.storeOutcomes), analyze counts all four.
    expect(byOutcome).toEqual({ failed: String(outcomes.failed), received: String(outcomes.received) })
  }, 120_000)

  it('run --once without inputs reads the bundled sample it writes into its data dir, counting what the generator injected', async () => {
    const dir = join(home, 'sample-work')
    await run('mkdir', ['-p', dir])
    const once = await run(bin, ['run', '--once'], { cwd: dir, env, maxBuffer: 1 << 26 })
    const sample = join(dir, '.connrca', 'data', 'sample')
    expect(once.stderr).toContain('running on the bundled sample .connrca/data/sample/*/postgresql.log')
    expect(once.stderr).toMatch(/caught up: [\d,]+ records, 0 unparsed/)
    const stored = await run(
      bin,
      [
        'sql',
        "SELECT server, category, toString(count()) FROM connection_events FINAL WHERE outcome = 'failed' GROUP BY server, category ORDER BY server, category",
        '--format',
        'json',
      ],
      { cwd: dir, env, maxBuffer: 1 << 26 },
    )
    const byCause = Object.fromEntries(
      (JSON.parse(stored.stdout) as { rows: [string, string, string][] }).rows.map(([s, c, n]) => [
        `${s}/${c}`,
        Number(n),
      ]),
    )
    // the same sample (same start) written by the checkout's generator, with the failures it injected
    const start = writtenSampleStart(sample)
    expect(start).toBeDefined()
    const { truth } = await writeLogs(join(home, 'sample-truth'), {
      start: start as number,
      servers: SAMPLE_SERVERS.map((s) => s.name),
      format: 'stderr',
      prefix: DEFAULT_PREFIX,
      incidents: 'default',
      ...SAMPLE,
    })
    const expected = Object.fromEntries(
      Object.entries(truth.failures).flatMap(([server, causes]) =>
        Object.entries(causes)
          .filter(([, n]) => n)
          .map(([cause, n]) => [`${server}/${cause}`, n]),
      ),
    )
    expect(Object.keys(expected).length).toBeGreaterThan(3)
    expect(byCause).toEqual(expected)
  }, 180_000)

  it('serves the dashboard and uPlot from the installed package', async () => {
    const child = spawn(bin, ['run', 'gen.log'], { cwd: work, env, stdio: ['ignore', 'ignore', 'pipe'] })
    children.push(child)
    let log = ''
    child.stderr.on('data', (d) => (log += d))
    const url = await new Promise<string>((done, fail) => {
      child.stderr.on('data', () => {
        const m = /dashboard: (http:\/\/[^/\s]+)\//.exec(log)
        if (m) done(m[1])
      })
      child.on('exit', (code) => fail(new Error(`connrca run exited ${code}:\n${log}`)))
    })
    const page = await fetch(`${url}/`)
    expect(page.status).toBe(200)
    expect(await page.text()).toBe(readFileSync(join(REPO, 'services', 'api', 'web', 'index.html'), 'utf8'))
    const uplot = await fetch(`${url}/vendor/uplot.iife.min.js`)
    expect(uplot.status).toBe(200)
    expect((await uplot.text()).length).toBeGreaterThan(10_000)
    child.kill('SIGTERM')
    const code = await new Promise((done) => child.once('exit', done))
    expect(code).toBe(0)
  }, 60_000)
})
