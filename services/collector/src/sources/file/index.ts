import { type FSWatcher, watch } from 'node:fs'
import { type FileHandle, open, stat } from 'node:fs/promises'
import path from 'node:path'
import { type FileSource as FileSourceConfig, type LogRecord, toMs } from '@connrca/contracts'
import { Batcher } from '../batcher.js'
import type { Deliver, Source, SourceDeps } from '../types.js'
import { compilePattern, expandPatterns, type PathPattern } from './glob.js'
import { type Fingerprint, FINGERPRINT_BYTES, fingerprint, sameHead } from './identity.js'
import { createParser, LineSplitter, readLines } from '@connrca/pglog'

const CHUNK_BYTES = 256 * 1024
/** A file quiet this long has its last (possibly multi-line) record flushed out of the parser. */
const IDLE_FLUSH_MS = 1000

/** Checkpointed per file: enough to find the file again and resume without skips or repeats. */
export interface FileCheckpoint {
  path: string
  dev: number
  ino: number
  /** Birth time (ms) where the file system reports it: tells a re-used inode from the old file in record ids. */
  birth: number
  /** Bumped on copytruncate so re-used offsets get new record ids. */
  gen: number
  fp: Fingerprint
  /** Byte offset to resume reading at: the start of the last delivered record (re-parsed, not re-delivered). */
  offset: number
  /** Records and dead letters at or before this position were delivered already. */
  after: number
  /** A .gz archive read to its end. */
  done?: boolean
}

export interface FileSourceState {
  v: 1
  files: FileCheckpoint[]
}

type Parser = ReturnType<typeof createParser>

interface Tracked {
  key: string
  path: string
  gz: boolean
  /** What was read (runs ahead of delivery). */
  cur: FileCheckpoint
  /** What was delivered: the checkpoint. */
  committed: FileCheckpoint
  fh?: FileHandle
  size: number
  readOffset: number
  lines: LineSplitter
  parser: Parser
  /** Highest position emitted in the current read pass, for the commit mark. */
  lastEmitted: number
  pushedSinceFlush: boolean
  lastDataAt: number
  /** The path now names another file: drain this one to its end, then let it go. */
  detached: boolean
  released: boolean
}

export class FileTailSource implements Source {
  readonly name: string
  private readonly patterns: PathPattern[]
  private readonly serverFromPath: RegExp | undefined
  private readonly pollMs: number
  private readonly log: (line: string) => void
  private readonly relevant: SourceDeps['relevant']
  private readonly files = new Map<string, Tracked>()
  /** Entries of a restored checkpoint not yet matched to a file on disk. */
  private restored = new Map<string, FileCheckpoint>()
  private batcher: Batcher | undefined
  private stopping = false
  private loop: Promise<void> | undefined
  private wake: (() => void) | undefined
  private watchers: FSWatcher[] = []
  private caughtUpResolve!: () => void
  private caughtUpReject!: (e: Error) => void
  private readonly caughtUpPromise: Promise<void>

  constructor(
    private readonly cfg: FileSourceConfig,
    deps: SourceDeps = {},
  ) {
    this.name = cfg.name ?? `file:${cfg.paths[0]}`
    this.patterns = cfg.paths.map(compilePattern)
    this.serverFromPath = cfg.serverFromPath ? new RegExp(cfg.serverFromPath) : undefined
    this.pollMs = toMs(cfg.pollInterval)
    this.log = deps.logger ?? (() => {})
    this.relevant = deps.relevant
    this.caughtUpPromise = new Promise((resolve, reject) => {
      this.caughtUpResolve = resolve
      this.caughtUpReject = reject
    })
    this.caughtUpPromise.catch(() => {})
  }

  async start(deliver: Deliver, state?: unknown): Promise<void> {
    this.batcher = new Batcher(deliver, { logger: this.log, sourceName: this.name, onSeal: () => this.sealCommit() })
    for (const f of parseState(state)?.files ?? []) this.restored.set(`${f.dev}:${f.ino}`, f)
    if (this.cfg.follow) this.startWatching()
    this.loop = this.run().catch((err) => {
      this.log(`${this.name}: stopped reading: ${(err as Error).message}`)
      this.caughtUpReject(err as Error)
    })
  }

  checkpoint(): FileSourceState {
    const files: FileCheckpoint[] = []
    for (const t of this.files.values()) files.push({ ...t.committed, fp: { ...t.committed.fp } })
    // Files of the previous run not seen yet (e.g. a directory temporarily unmounted) keep their place.
    for (const f of this.restored.values()) files.push(f)
    return { v: 1, files }
  }

  caughtUp(): Promise<void> {
    return this.caughtUpPromise
  }

  progress(): { bytesRead: number; bytesTotal: number } {
    let bytesRead = 0
    let bytesTotal = 0
    for (const t of this.files.values()) {
      bytesRead += t.readOffset
      bytesTotal += Math.max(t.size, t.readOffset)
    }
    return { bytesRead, bytesTotal }
  }

  async stop(): Promise<void> {
    this.stopping = true
    for (const w of this.watchers) w.close()
    this.watchers = []
    this.wake?.()
    await this.loop
    // Complete records still in the parsers are delivered; an unterminated last line is not
    // (the writer may still finish it; the checkpoint makes the next run read it again).
    for (const t of this.files.values()) this.flushParser(t)
    await this.batcher?.flush()
    this.batcher?.close()
    for (const t of this.files.values()) await t.fh?.close().catch(() => {})
  }

  private async run(): Promise<void> {
    let caughtUp = false
    while (!this.stopping) {
      await this.scan()
      await this.readAll(!caughtUp)
      if (!caughtUp) {
        // A followed file may end inside a record whose DETAIL is still being written: that record
        // is left to the idle flush, as in a follower that never restarted (stop() flushes too).
        if (!this.cfg.follow)
          for (const t of this.files.values()) {
            t.lines.end((line, pos) => this.push(t, line, pos))
            this.flushParser(t)
          }
        await this.batcher!.flush()
        caughtUp = true
        this.caughtUpResolve()
        if (!this.cfg.follow) return
      } else this.flushIdle()
      await this.sleep()
    }
  }

  private sleep(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, this.pollMs)
      function done() {
        clearTimeout(timer)
        resolve()
      }
      this.wake = () => {
        this.wake = undefined
        done()
      }
    })
  }

  private startWatching(): void {
    const dirs = new Set<string>()
    for (const p of this.patterns) dirs.add(p.match ? p.base : path.dirname(p.base))
    for (const p of this.patterns) if (!p.match) dirs.add(p.base)
    for (const dir of dirs) {
      try {
        const w = watch(dir, { persistent: false }, () => this.wake?.())
        w.on('error', () => {})
        this.watchers.push(w)
      } catch {
        // Missing or unwatchable directory: the poll interval covers it.
      }
    }
  }

  /** Finds new, rotated and truncated files. */
  private async scan(): Promise<void> {
    const paths = await expandPatterns(this.patterns)
    const seen = new Set<string>()
    for (const p of paths) {
      const st = await stat(p, { bigint: false }).catch(() => undefined)
      if (!st?.isFile()) continue
      const key = `${st.dev}:${st.ino}`
      seen.add(key)
      const known = this.files.get(key)
      if (known) {
        known.path = p
        known.detached = false
        known.released = false
        continue
      }
      // The path used to name another file: that one was rotated away (rename + create).
      for (const t of this.files.values()) if (t.path === p && t.key !== key) t.detached = true
      await this.track(p, key, st.dev, st.ino, Math.round(st.birthtimeMs))
    }
    for (const t of this.files.values()) {
      if (!seen.has(t.key)) t.detached = true
    }
    // Files of the previous run that no longer exist under the patterns are forgotten.
    this.restored.clear()
  }

  private async track(p: string, key: string, dev: number, ino: number, birth: number): Promise<void> {
    const gz = p.endsWith('.gz')
    let fh: FileHandle | undefined
    let size = 0
    try {
      fh = await open(p, 'r')
      size = (await fh.stat()).size
    } catch (err) {
      await fh?.close().catch(() => {})
      this.log(`${this.name}: cannot open ${p}: ${(err as Error).message}`)
      return
    }
    const head = await fingerprint(fh, size)
    let cp: FileCheckpoint = { path: p, dev, ino, birth, gen: 0, fp: head, offset: 0, after: -1 }
    const prev = this.restored.get(key)
    if (prev) {
      this.restored.delete(key)
      if (await sameHead(fh, size, prev.fp)) {
        cp = { ...prev, path: p }
        // A file shorter than where we stopped was truncated while we were away.
        if (!gz && size < prev.offset) cp = { ...cp, gen: prev.gen + 1, offset: 0, after: -1, fp: head }
      } else this.log(`${this.name}: ${p} reuses the inode of a file read before; reading it from the start`)
    }
    if (gz) {
      // Archives are read in one go by readLines; no handle needed.
      await fh.close()
      fh = undefined
    }
    const t: Tracked = {
      key,
      path: p,
      gz,
      cur: cp,
      committed: { ...cp, fp: { ...cp.fp } },
      fh,
      size,
      readOffset: gz ? (cp.done ? size : 0) : cp.offset,
      lines: new LineSplitter(),
      parser: undefined as unknown as Parser,
      lastEmitted: -1,
      pushedSinceFlush: false,
      lastDataAt: Date.now(),
      detached: false,
      released: false,
    }
    t.parser = this.newParser(t)
    this.files.set(key, t)
  }

  private newParser(t: Tracked): Parser {
    const sourceName = t.path
    // Path-free, so a renamed (rotated) file keeps its ids; the generation changes on copytruncate.
    const idName = `${this.name}#${t.cur.dev}:${t.cur.ino}:${t.cur.birth}:${t.cur.gen}`
    const server = this.cfg.server ?? this.serverFromPath?.exec(t.path)?.groups?.server
    // The parser derives ids from this name; records then show the plain path.
    return createParser(
      {
        format: this.cfg.format,
        prefix: this.cfg.prefix,
        server,
        source: { kind: 'file', name: idName },
        relevant: this.relevant,
      },
      {
        record: (r: LogRecord) => {
          const pos = r.source.position as number
          if (pos <= t.cur.after) return
          r.source.name = sourceName
          t.lastEmitted = pos
          this.emitted.add(t)
          this.batcher!.add(r)
        },
        deadLetter: (d) => {
          const pos = d.source?.position
          if (typeof pos === 'number') {
            if (pos <= t.cur.after) return
            if (pos > t.lastEmitted) t.lastEmitted = pos
            this.emitted.add(t)
          }
          if (d.source) d.source.name = sourceName
          this.batcher!.addDeadLetter(d)
        },
      },
    )
  }

  private push(t: Tracked, line: string, pos: number): void {
    t.pushedSinceFlush = true
    t.parser.push(line, pos)
  }

  private flushParser(t: Tracked): void {
    if (!t.pushedSinceFlush) return
    t.pushedSinceFlush = false
    t.parser.flush()
  }

  /** Files with records in the batch being filled. */
  private readonly emitted = new Set<Tracked>()

  /** The batch being sealed covers each file up to its last emitted record; commit exactly that. */
  private sealCommit(): (() => void) | undefined {
    if (this.emitted.size === 0) return undefined
    const covered = [...this.emitted].map((t) => ({ t, pos: t.lastEmitted, gen: t.cur.gen }))
    this.emitted.clear()
    return () => {
      for (const { t, pos, gen } of covered) {
        if (t.committed.gen !== gen || pos <= t.committed.after) continue
        t.committed.after = pos
        t.committed.offset = t.gz ? 0 : pos
      }
    }
  }

  private flushIdle(): void {
    const now = Date.now()
    for (const t of this.files.values()) {
      if (t.pushedSinceFlush && now - t.lastDataAt >= IDLE_FLUSH_MS) this.flushParser(t)
    }
  }

  private async readAll(initial: boolean): Promise<void> {
    for (const t of [...this.files.values()]) {
      if (this.stopping) return
      if (t.released) continue
      if (t.gz) {
        if (!t.cur.done) await this.readArchive(t)
      } else await this.readPlain(t, initial)
      if (t.detached) await this.release(t)
    }
  }

  private async readPlain(t: Tracked, initial: boolean): Promise<void> {
    const fh = t.fh!
    let size = (await fh.stat()).size
    if (size < t.readOffset || (size !== t.size && !(await this.headUnchanged(t, size)))) {
      this.truncated(t)
      size = (await fh.stat()).size
    }
    t.size = size
    if (t.cur.fp.length < FINGERPRINT_BYTES && size > t.cur.fp.length) {
      t.cur.fp = await fingerprint(fh, size)
      const fp = t.cur.fp
      const gen = t.cur.gen
      this.batcher!.mark(() => {
        if (t.committed.gen === gen) t.committed.fp = fp
      })
    }
    const buf = Buffer.allocUnsafe(CHUNK_BYTES)
    while (t.readOffset < size && !this.stopping) {
      const { bytesRead } = await fh.read(buf, 0, Math.min(CHUNK_BYTES, size - t.readOffset), t.readOffset)
      if (bytesRead === 0) break
      t.lines.feed(buf.subarray(0, bytesRead), t.readOffset, (line, pos) => this.push(t, line, pos))
      t.readOffset += bytesRead
      t.lastDataAt = Date.now()
      await this.batcher!.room()
      if (!initial && t.readOffset >= size) size = t.size = (await fh.stat()).size
    }
    // Following: what was read so far holds complete records but the newest; emit them now
    // instead of after 64 more records or a quiet second (line → event latency).
    if (!initial && this.cfg.follow) t.parser.settle()
    if (t.detached) {
      // Rotated away: it will not grow again, so its last line and record are complete.
      t.lines.end((line, pos) => this.push(t, line, pos))
      this.flushParser(t)
    }
  }

  private async headUnchanged(t: Tracked, size: number): Promise<boolean> {
    return sameHead(t.fh!, size, t.cur.fp)
  }

  /** copytruncate (or an overwrite): the content before is gone, start again at 0 under a new generation. */
  private truncated(t: Tracked): void {
    this.log(`${this.name}: ${t.path} was truncated; reading it again from the start`)
    this.flushParser(t)
    t.lines.reset()
    const gen = t.cur.gen + 1
    t.cur = { ...t.cur, gen, offset: 0, after: -1, fp: { hash: '', length: 0 } }
    t.readOffset = 0
    t.lastEmitted = -1
    t.parser = this.newParser(t)
    const next = { ...t.cur }
    this.batcher!.mark(() => {
      t.committed = { ...next, fp: { ...next.fp } }
    })
  }

  private async readArchive(t: Tracked): Promise<void> {
    let n = 0
    for await (const { line, position } of readLines(t.path)) {
      if (this.stopping) return
      this.push(t, line, position)
      t.readOffset = position
      if (++n % 2000 === 0) {
        await this.batcher!.room()
      }
    }
    t.readOffset = t.size
    this.flushParser(t)
    t.cur.done = true
    this.batcher!.mark(() => {
      t.committed.done = true
    })
  }

  /** A detached file read to its end: forget it once its records are delivered (until then it stays in the checkpoint). */
  private async release(t: Tracked): Promise<void> {
    if (t.gz && !t.cur.done) return
    t.released = true
    this.batcher!.mark(() => {
      if (!t.released || this.files.get(t.key) !== t) return
      this.files.delete(t.key)
      void t.fh?.close().catch(() => {})
    })
  }
}

function parseState(state: unknown): FileSourceState | undefined {
  if (!state || typeof state !== 'object') return undefined
  const s = state as FileSourceState
  return s.v === 1 && Array.isArray(s.files) ? s : undefined
}
