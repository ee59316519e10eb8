/**
 * The file source under the real Debian `logrotate` (issue 11, defects 6 and 7): a writer that
 * behaves like PostgreSQL's logging collector keeps appending numbered lines while logrotate
 * rotates the path (create, copytruncate, compress + delaycompress, dateext), with connrca
 * following or stopped. Every line on disk at the end must have been delivered exactly once,
 * counted by its sequence number across the source's batches and a restart from its checkpoint.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { gunzipSync } from 'node:zlib'
import { afterEach, describe, expect, it } from 'vitest'
import { createSource, type Source } from '../../src/sources/index.js'
import { Collector, sleep, tmpDir, waitFor } from './helpers.js'

const LOGROTATE = '/usr/sbin/logrotate'
const WRITER = path.join(import.meta.dirname, 'support', 'pg-like-writer.mjs')
const present = existsSync(LOGROTATE)

if (!present && process.env.CI === 'true') {
  throw new Error(`file rotation test: ${LOGROTATE} is missing; CI must install the Debian package "logrotate"`)
}
if (!present) {
  console.warn(`\n*** file rotation test SKIPPED: ${LOGROTATE} not found (apt-get install logrotate) ***\n`)
}

/** Lines per 5 ms: ~400 lines/s, so every rotation leaves hundreds of lines in flight. */
const PER_TICK = 2

interface Rig {
  logs: string
  file: string
  writer: ChildProcess
  /** logrotate once with the given mode; the writer reopens the path `reopenDelayMs` after the rename. */
  rotate(mode: 'create' | 'copytruncate' | 'dateext', reopenDelayMs?: number): void
  /** Stops the writer; resolves with the number of lines it wrote. */
  stopWriter(): Promise<number>
}

const cleanup: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c()
})

async function rig(): Promise<Rig> {
  const root = tmpDir('connrca-rotation-')
  const logs = path.join(root, 'logs')
  mkdirSync(logs)
  const file = path.join(logs, 'pg.log')
  const delayFile = path.join(root, 'reopen-delay')
  writeFileSync(file, '')
  writeFileSync(delayFile, '0')
  const writer = spawn(process.execPath, [WRITER, file, String(PER_TICK), delayFile], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  let out = ''
  writer.stdout!.on('data', (b: Buffer) => {
    out += b.toString()
  })
  await waitFor(() => out.includes('ready'), 'the writer to start')
  let stopped: Promise<number> | undefined
  const stopWriter = () =>
    (stopped ??= new Promise<number>((resolve) => {
      writer.on('exit', () => resolve(Number(/written (\d+)/.exec(out)?.[1] ?? Number.NaN)))
      writer.kill('SIGTERM')
    }))
  cleanup.push(async () => {
    await stopWriter()
  })
  const common = ['rotate 50', 'compress', 'delaycompress', 'missingok', 'notifempty']
  const confs = {
    create: [...common, 'create', 'postrotate', `  kill -USR1 ${writer.pid}`, 'endscript'],
    // logrotate names dated copies by the second: a test rotates with it once per second at most.
    dateext: [
      ...common,
      'create',
      'dateext',
      'dateformat -%Y%m%d-%s',
      'postrotate',
      `  kill -USR1 ${writer.pid}`,
      'endscript',
    ],
    copytruncate: [...common, 'copytruncate'],
  }
  const confPaths = Object.fromEntries(
    Object.entries(confs).map(([mode, body]) => {
      const p = path.join(root, `${mode}.conf`)
      writeFileSync(p, `${file} {\n${body.map((l) => `  ${l}`).join('\n')}\n}\n`)
      return [mode, p]
    }),
  ) as Record<keyof typeof confs, string>
  return {
    logs,
    file,
    writer,
    rotate(mode, reopenDelayMs = 0) {
      writeFileSync(delayFile, String(reopenDelayMs))
      execFileSync(LOGROTATE, ['-s', path.join(root, 'state'), '-f', confPaths[mode]], { stdio: 'pipe' })
    },
    stopWriter,
  }
}

function fileSource(logs: string, extra: Record<string, unknown> = {}): Source {
  const s = createSource({
    type: 'file',
    paths: [path.join(logs, '*.log')],
    format: 'stderr',
    prefix: '%m [%p] ',
    pollInterval: 50,
    name: 'pg',
    ...extra,
  } as never)
  cleanup.push(() => s.stop())
  return s
}

/** Sequence numbers of every line in the directory (plain and .gz): what logrotate left on disk. */
function onDisk(logs: string): Set<number> {
  const seqs = new Set<number>()
  for (const name of readdirSync(logs)) {
    const raw = readFileSync(path.join(logs, name))
    const text = (name.endsWith('.gz') ? gunzipSync(raw) : raw).toString()
    for (const m of text.matchAll(/seq=(\d+)/g)) seqs.add(Number(m[1]))
  }
  return seqs
}

function seqsOf(c: Collector): number[] {
  return c.records.map((r) => Number(/seq=(\d+)/.exec(r.message)?.[1]))
}

/** Waits until every line on disk was delivered (or 15 s), then a little longer for strays. */
async function drained(expected: Set<number>, ...collectors: Collector[]): Promise<number[]> {
  const all = () => collectors.flatMap(seqsOf)
  await waitFor(() => new Set(all()).size >= expected.size, 'every line on disk delivered', 15_000).catch(() => {})
  await sleep(300)
  return all()
}

/** Lines lost (on disk, not delivered), counted twice, or delivered but not on disk. */
function tally(delivered: number[], expected: Set<number>) {
  const got = new Set(delivered)
  return {
    lost: [...expected].filter((s) => !got.has(s)).length,
    doubled: delivered.length - got.size,
    unknown: [...got].filter((s) => !expected.has(s)).length,
  }
}

describe.skipIf(!present)('file source under real logrotate', () => {
  it('live rotation: 3 × create (reopen delays 0-1.5 s), a restart, 3 × copytruncate; nothing lost or doubled', async () => {
    const r = await rig()
    const first = new Collector()
    // rotateWait below the longest reopen delay: a renamed file is released only once the writer left it.
    const a = fileSource(r.logs, { rotateWait: '1s' })
    await a.start(first.deliver)
    await a.caughtUp()
    for (const delay of [0, 400, 1500]) {
      await sleep(700)
      r.rotate('create', delay)
    }
    // Restart at a quiet point: the writer reopened and the renamed file was released.
    await sleep(1500 + 1000 + 500)
    await a.stop()
    const cp = JSON.parse(JSON.stringify(a.checkpoint()))
    await sleep(300)
    const second = new Collector()
    const b = fileSource(r.logs, { rotateWait: '1s' })
    await b.start(second.deliver, cp)
    for (let i = 0; i < 3; i++) {
      await sleep(500)
      r.rotate('copytruncate')
    }
    await sleep(500)
    const written = await r.stopWriter()
    const expected = onDisk(r.logs)
    const delivered = await drained(expected, first, second)
    const gz = readdirSync(r.logs).filter((n) => n.endsWith('.gz')).length
    console.log(
      `live rotation: ${written} lines written, ${expected.size} on disk (copytruncate's copy→truncate race lost ${written - expected.size}), ${delivered.length} delivered, ${gz} .gz files`,
    )
    expect(gz).toBe(5)
    expect(tally(delivered, expected)).toEqual({ lost: 0, doubled: 0, unknown: 0 })
    expect(delivered.length).toBe(expected.size)
  }, 40_000)

  const downCases: Array<{
    name: string
    rotations: Array<['create' | 'dateext' | 'copytruncate', number]>
    /** A create rotation while running first, its renamed file let go before the stop. */
    rotatedLive?: boolean
  }> = [
    {
      name: 'three create rotations after one seen live (the files written while stopped are read, the one let go is not read again once compressed)',
      rotations: [
        ['create', 0],
        ['create', 100],
        ['create', 200],
      ],
      rotatedLive: true,
    },
    {
      name: 'two copytruncate rotations (the tail is in pg.log.2.gz, the next part in pg.log.1)',
      rotations: [
        ['copytruncate', 0],
        ['copytruncate', 0],
      ],
    },
    { name: 'one create rotation (the tail is in pg.log.1)', rotations: [['create', 300]] },
    {
      name: 'two create rotations (the tail is in pg.log.2.gz)',
      rotations: [
        ['create', 0],
        ['create', 200],
      ],
    },
    { name: 'a dateext rotation (the tail is in pg.log-<date>)', rotations: [['dateext', 100]] },
    { name: 'copytruncate (the tail is in the copy pg.log.1)', rotations: [['copytruncate', 0]] },
  ]
  for (const { name, rotations, rotatedLive } of downCases) {
    it(`rotation while stopped: ${name}; the unread tail is read, before the new file`, async () => {
      const r = await rig()
      const first = new Collector()
      const a = fileSource(r.logs, { rotateWait: '300ms' })
      await a.start(first.deliver)
      await a.caughtUp()
      await sleep(500)
      if (rotatedLive) {
        r.rotate('create', 100)
        await sleep(1000)
      }
      await a.stop()
      const cp = JSON.parse(JSON.stringify(a.checkpoint()))
      for (const [mode, delay] of rotations) {
        await sleep(mode === 'dateext' ? 1100 : 400)
        r.rotate(mode, delay)
      }
      await sleep(500)
      const second = new Collector()
      const b = fileSource(r.logs)
      await b.start(second.deliver, cp)
      await b.caughtUp()
      await sleep(500)
      const written = await r.stopWriter()
      const expected = onDisk(r.logs)
      const delivered = await drained(expected, first, second)
      const resumed = seqsOf(second)
      console.log(
        `rotation while stopped, ${name}: ${written} written, ${expected.size} on disk, ${first.records.length} + ${second.records.length} delivered`,
      )
      expect(tally(delivered, expected)).toEqual({ lost: 0, doubled: 0, unknown: 0 })
      // The rotated file's tail comes first: the restarted source delivers in writing order.
      expect(resumed.slice(0, 1)).toEqual([Math.max(...seqsOf(first)) + 1])
    }, 30_000)
  }

  it('stopped while the writer still appends to the renamed file; restarted after it reopened', async () => {
    const r = await rig()
    const first = new Collector()
    const a = fileSource(r.logs)
    await a.start(first.deliver)
    await a.caughtUp()
    await sleep(400)
    r.rotate('create', 1500)
    await sleep(300)
    await a.stop()
    const cp = JSON.parse(JSON.stringify(a.checkpoint()))
    await sleep(1800)
    const second = new Collector()
    const b = fileSource(r.logs)
    await b.start(second.deliver, cp)
    await sleep(600)
    await r.stopWriter()
    const expected = onDisk(r.logs)
    const delivered = await drained(expected, first, second)
    expect(tally(delivered, expected)).toEqual({ lost: 0, doubled: 0, unknown: 0 })
  }, 30_000)
})
