import { type FSWatcher, watch } from 'node:fs'
import { type FileHandle, open, stat } from 'node:fs/promises'
import path from 'node:path'
import { type FileSource as FileSourceConfig, type LogRecord, toMs } from '@connrca/contracts'
import { createParser, LineSplitter, readLines } from '@connrca/pglog'
import { Batcher } from '../batcher.js'
import type { Deliver, Source, SourceDeps } from '../types.js'
import { compilePattern, expandPatterns, type PathPattern } from './glob.js'
import { FINGERPRINT_BYTES, type Fingerprint, fingerprint, sameHead } from './identity.js'
import { firstRecordTime } from './first-time.js'
import { copyHead, findRotated, type RotatedCopy, rotatedSiblings } from './rotated.js'
import { serverFromFileName } from './server-name.js'

const CHUNK_BYTES = 256 * 1024
/** Files read to their end and let go that the checkpoint still names, so a restart knows their copies. */
const READ_MARKS = 32
/** A file quiet this long has its last (possibly multi-line) record flushed out of the parser. */
const IDLE_FLUSH_MS = 1000
/**
 * A followed directory changes with every line written to it; a look (list, stat, read every
 * file) per change cost a collector following 8 files at 34 lines/s each 15 % of a core. Changes
 * within this long of the last look's start are taken together: at most 20 looks a second, and a
 * line waits at most this much longer.
 */
const MIN_LOOK_MS = 50

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
  /** Bytes read and counted (records the relevance filter let go before this are not counted again). */
  read?: number
  /** A .gz archive read to its end. */
  done?: boolean
  /**
   * `dev:ino:birth:gen` of the file this one is a rotated copy of (copytruncate's copy, the .gz
   * made of it), found on a restart: its records keep the ids they would have had. Absent: its own.
   */
  ids?: string
}

/** A file read to its end and let go: its copies (a later .gz) are not new files. */
export interface ReadMark {
  dev: number
  ino: number
  fp: Fingerprint
}

export interface FileSourceState {
  v: 1
  files: FileCheckpoint[]
  /** When it was taken (ms): rotated files written after it were not seen by the run that took it. */
  at?: number
  read?: ReadMark[]
}

type Parser = ReturnType<typeof createParser>

interface Tracked {
  key: string
  path: string
  gz: boolean
  /** Named once, when first tracked: a rename (rotation) does not move a file to another server. */
  server: string
  /** Event time of its first records (NaN: none): catch-up reads a server's files oldest first. */
  firstTime: number
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
  /** The path now names another file (or none): read on until quiet for rotateWait, then let it go. */
  detached: boolean
  /** When it was found detached: the quiet time counts from here at the earliest. */
  detachedAt: number | undefined
  released: boolean
}

export class FileTailSource implements Source {
  readonly name: string
  private readonly patterns: PathPattern[]
  private readonly serverFromPath: RegExp | undefined
  private readonly pollMs: number
  private readonly rotateWaitMs: number
  private readonly log: (line: string) => void
  private readonly relevant: SourceDeps['relevant']
  private readonly batchRecords: number | undefined
  /**
   * The two read buffers, made once: files are read one at a time, and a followed file is looked
   * at up to 20 times a second. Made per read, 512 KiB of memory outside the JS heap per file and
   * look made V8 collect again and again: a collector following 8 files at 34 lines/s each spent
   * 9.6 of its 25 CPU-s per 48 s in garbage collection.
   */
  private readBufs: [Buffer, Buffer] | undefined
  private readonly files = new Map<string, Tracked>()
  /** Entries of a restored checkpoint not yet matched to a file on disk. */
  private restored = new Map<string, FileCheckpoint>()
  /** The restored checkpoint's time and files finished before it: see FileSourceState. */
  private restoredAt: number | undefined
  private readMarks: ReadMark[] = []
  private batcher: Batcher | undefined
  private stopping = false
  private loop: Promise<void> | undefined
  private wake: (() => void) | undefined
  /** When the current look at the files started. */
  private lookedAt = 0
  /**
   * Paths of followed files that changed since the last look: the next look reads only them.
   * undefined: look at everything (list the patterns, read every file), as at the start, once
   * every `pollInterval`, and after a change the set cannot hold (a file created, renamed or
   * removed, a name not followed, or no name).
   */
  private changed: Set<string> | undefined = undefined
  /** When the last whole look started. */
  private wholeLookAt = 0
  /** Paths of the followed files, as the last scan found them. */
  private followedPaths = new Set<string>()
  private watchers: FSWatcher[] = []
  private caughtUpResolve!: () => void
  private caughtUpReject!: (e: Error) => void
  private readonly caughtUpPromise: Promise<void>
  /** Lines read, and records the relevance filter let go (not built), for reports. */
  private linesRead = 0
  private irrelevantBefore = 0

  constructor(
    private readonly cfg: FileSourceConfig,
    deps: SourceDeps = {},
  ) {
    this.name = cfg.name ?? `file:${cfg.paths[0]}`
    this.patterns = cfg.paths.map(compilePattern)
    this.serverFromPath = cfg.serverFromPath ? new RegExp(cfg.serverFromPath) : undefined
    this.pollMs = toMs(cfg.pollInterval)
    this.rotateWaitMs = toMs(cfg.rotateWait)
    this.log = deps.logger ?? (() => {})
    this.relevant = deps.relevant
    this.batchRecords = deps.batchRecords
    this.caughtUpPromise = new Promise((resolve, reject) => {
      this.caughtUpResolve = resolve
      this.caughtUpReject = reject
    })
    this.caughtUpPromise.catch(() => {})
  }

  async start(deliver: Deliver, state?: unknown): Promise<void> {
    this.batcher = new Batcher(deliver, {
      logger: this.log,
      sourceName: this.name,
      maxRecords: this.batchRecords,
      onSeal: () => this.sealCommit(),
    })
    const saved = parseState(state)
    for (const f of saved?.files ?? []) this.restored.set(`${f.dev}:${f.ino}`, f)
    this.restoredAt = saved?.at
    this.readMarks = saved?.read ?? []
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
    return { v: 1, files, at: Date.now(), read: this.readMarks.map((m) => ({ ...m, fp: { ...m.fp } })) }
  }

  caughtUp(): Promise<void> {
    return this.caughtUpPromise
  }

  /** Lines read so far and records not built because they cannot matter (see SourceDeps.relevant). */
  readStats(): { lines: number; irrelevant: number } {
    let irrelevant = this.irrelevantBefore
    for (const t of this.files.values()) irrelevant += t.parser.irrelevant
    return { lines: this.linesRead, irrelevant }
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
    // (the writer may still finish it; the checkpoint makes the next run read it again), nor the
    // record before it, which that line may still continue.
    for (const t of this.files.values()) if (t.lines.pendingBytes === 0) this.flushParser(t)
    await this.batcher?.flush()
    this.batcher?.close()
    for (const t of this.files.values()) await t.fh?.close().catch(() => {})
  }

  private async run(): Promise<void> {
    let caughtUp = false
    while (!this.stopping) {
      this.lookedAt = Date.now()
      const changed = this.changed
      this.changed = new Set()
      if (!caughtUp || changed === undefined || this.lookedAt - this.wholeLookAt >= this.pollMs) {
        this.wholeLookAt = this.lookedAt
        await this.scan()
        await this.readAll(!caughtUp)
      } else await this.readChanged(changed)
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
        const wait = this.stopping ? 0 : this.lookedAt + MIN_LOOK_MS - Date.now()
        if (wait > 0) {
          clearTimeout(timer)
          setTimeout(done, wait)
        } else done()
      }
    })
  }

  private startWatching(): void {
    const dirs = new Set<string>()
    for (const p of this.patterns) dirs.add(p.match ? p.base : path.dirname(p.base))
    for (const p of this.patterns) if (!p.match) dirs.add(p.base)
    for (const dir of dirs) {
      try {
        const abs = path.resolve(dir)
        const w = watch(dir, { persistent: false }, (event, name) => this.changedIn(abs, event, name))
        w.on('error', () => {})
        this.watchers.push(w)
      } catch {
        // Missing or unwatchable directory: the poll interval covers it.
      }
    }
  }

  /**
   * A followed directory reported a change. Appending to a file says `change` with its name: only
   * that file needs reading. Anything else needs a whole look (the patterns listed again: new,
   * rotated or removed files).
   */
  private changedIn(watched: string, event: string, name: string | null): void {
    // `watched` is absolute; a watched file names itself, a watched directory the file in it
    const p = this.followedPaths.has(watched) ? watched : name ? path.resolve(watched, name) : undefined
    if (event === 'change' && p !== undefined && this.followedPaths.has(p)) this.changed?.add(p)
    else this.changed = undefined
    this.wake?.()
  }

  /** Finds new, rotated and truncated files. */
  private async scan(): Promise<void> {
    const matched: Array<{ p: string; key: string; dev: number; ino: number; birth: number }> = []
    for (const p of await expandPatterns(this.patterns)) {
      const st = await stat(p, { bigint: false }).catch(() => undefined)
      if (st?.isFile())
        matched.push({ p, key: `${st.dev}:${st.ino}`, dev: st.dev, ino: st.ino, birth: Math.round(st.birthtimeMs) })
    }
    const seen = new Set(matched.map((m) => m.key))
    // Before the new files: the tails of files the previous run was reading that were rotated
    // out of the patterns while connrca was down, so lines come in the order they were written.
    this.known = [...this.restored.values(), ...this.readMarks]
    if (this.restored.size > 0) await this.resumeRotatedAway(seen)
    for (const { p, key, dev, ino, birth } of matched) {
      const known = this.files.get(key)
      if (known) {
        known.path = p
        known.detached = false
        known.detachedAt = undefined
        known.released = false
        continue
      }
      // The path used to name another file: that one was rotated away (rename + create).
      for (const t of this.files.values()) if (t.path === p && t.key !== key) this.detach(t)
      await this.track(p, key, dev, ino, birth)
    }
    for (const t of this.files.values()) {
      if (!seen.has(t.key)) this.detach(t)
    }
    for (const f of this.restored.values())
      if (!f.done)
        this.log(
          `${this.name}: ${f.path} (read up to byte ${f.offset}) is gone and no rotated copy of it is beside it; its unread tail, if any, is lost`,
        )
    this.restored.clear()
    this.followedPaths = new Set(matched.map((m) => path.resolve(m.p)))
  }

  private detach(t: Tracked): void {
    if (t.detached) return
    t.detached = true
    t.detachedAt = Date.now()
  }

  /** Checkpointed files no longer under the patterns: found again by identity beside their old path. */
  private async resumeRotatedAway(matched: Set<string>): Promise<void> {
    for (const [key, prev] of [...this.restored]) {
      if (matched.has(key) || prev.done) continue
      const copy = await findRotated(prev)
      if (!copy) continue
      this.restored.delete(key)
      await this.trackRotated(copy, prev)
      await this.trackUnseen(prev.path, matched)
    }
  }

  /** Files of the previous run and files it finished: their copies are not new (set at the first scan). */
  private known: Array<{ dev: number; ino: number; fp: Fingerprint }> = []

  /**
   * Rotations of `file` written after the restored checkpoint that the previous run never saw
   * (created and rotated away while connrca was down: two rotations or more): read from the
   * start, oldest first, after the tail of the file that was being read.
   */
  private async trackUnseen(file: string, matched: Set<string>): Promise<void> {
    if (this.restoredAt === undefined) return
    const since = this.restoredAt
    const lengths = [...new Set(this.known.map((k) => k.fp.length).filter((n) => n > 0))]
    const fresh: RotatedCopy[] = []
    for (const { copy } of await rotatedSiblings(file)) {
      const key = `${copy.dev}:${copy.ino}`
      if (copy.mtimeMs <= since || matched.has(key) || this.files.has(key)) continue
      // By content, not inode (a compressed file's inode is free for the next `create`): the same
      // head as a known file, as stored (a .gz read before) or decompressed (a file read, then gzipped).
      const heads = new Set<string>()
      for (const n of lengths) {
        heads.add(await copyHead(copy, n))
        if (copy.gz) heads.add(await copyHead({ ...copy, gz: false }, n))
      }
      heads.delete('')
      if (this.known.some((k) => k.fp.length > 0 && heads.has(k.fp.hash))) continue
      fresh.push(copy)
    }
    for (const copy of fresh.sort((a, b) => a.mtimeMs - b.mtimeMs)) {
      const key = `${copy.dev}:${copy.ino}`
      this.log(`${this.name}: ${copy.path} was written and rotated away while stopped; reading it`)
      await this.track(copy.path, key, copy.dev, copy.ino, copy.birth)
      const t = this.files.get(key)
      if (t) this.detach(t)
    }
  }

  /** Reads the unread tail of `prev` from its rotated copy, with the ids `prev` would have given. */
  private async trackRotated(copy: RotatedCopy, prev: FileCheckpoint): Promise<void> {
    const key = `${copy.dev}:${copy.ino}`
    if (this.files.has(key)) return
    this.log(`${this.name}: ${prev.path} was rotated to ${copy.path} while stopped; reading its unread tail there`)
    const ids = idsOf(prev)
    const cp: FileCheckpoint = { ...prev, path: copy.path, dev: copy.dev, ino: copy.ino, birth: copy.birth, ids }
    if (copy.gz) cp.offset = 0
    await this.track(copy.path, key, copy.dev, copy.ino, copy.birth, cp)
    const t = this.files.get(key)
    if (t) this.detach(t)
  }

  /** Starts reading a file: at its checkpoint (`resume`, or the restored one of its inode), else at 0. */
  private async track(
    p: string,
    key: string,
    dev: number,
    ino: number,
    birth: number,
    resume?: FileCheckpoint,
  ): Promise<void> {
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
    const server = this.cfg.server ?? this.serverFromPath?.exec(p)?.groups?.server ?? serverFromFileName(p)
    const firstTime = await firstRecordTime(p, { format: this.cfg.format, prefix: this.cfg.prefix, server })
    let cp: FileCheckpoint = { path: p, dev, ino, birth, gen: 0, fp: head, offset: 0, after: -1 }
    const prev = this.restored.get(key)
    if (resume) cp = resume
    else if (prev) {
      this.restored.delete(key)
      const same = await sameHead(fh, size, prev.fp)
      if (same) cp = { ...prev, path: p }
      else
        this.log(
          `${this.name}: ${p} reuses the inode of a file read before, or was truncated; reading it from the start`,
        )
      // Shorter than where we stopped, or another head: truncated while we were away (copytruncate,
      // whose copy beside it holds the unread tail: read that first), or a reused inode.
      if (!gz && (!same || size < prev.offset)) {
        const copy = await findRotated(prev, true)
        if (copy) {
          await this.trackRotated(copy, prev)
          await this.trackUnseen(p, new Set([key]))
        }
        cp = { ...cp, ids: undefined, gen: prev.gen + 1, offset: 0, after: -1, read: undefined, fp: head }
      }
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
      server,
      firstTime,
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
      detachedAt: undefined,
      released: false,
    }
    t.parser = this.newParser(t)
    this.files.set(key, t)
  }

  private newParser(t: Tracked): Parser {
    const sourceName = t.path
    // Free of path and source name, so a renamed (rotated) file keeps its ids and every command and
    // deployment that reads the file gives its records the same ids; the generation changes on copytruncate.
    const idName = `file#${idsOf(t.cur)}`
    const server = t.server
    // The parser derives ids from this name; records then show the plain path.
    return createParser(
      {
        format: this.cfg.format,
        prefix: this.cfg.prefix,
        server,
        source: { kind: 'file', name: idName },
        relevant: this.relevant,
        countAfter: Math.max(t.cur.after, (t.cur.read ?? 0) - 1),
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
    this.linesRead++
    t.pushedSinceFlush = true
    t.parser.push(line, pos)
  }

  private pushAscii(t: Tracked, b: Buffer, spans: readonly number[], pos: number): void {
    this.linesRead += spans.length >> 1
    t.pushedSinceFlush = true
    t.parser.pushAscii(b, spans, pos)
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
      // A line the writer has not finished may be the held record's DETAIL: the record waits for
      // it, up to rotateWait (a writer that died mid-line).
      const wait = t.lines.pendingBytes > 0 ? this.rotateWaitMs : IDLE_FLUSH_MS
      if (t.pushedSinceFlush && now - t.lastDataAt >= wait) this.flushParser(t)
    }
  }

  /** Reads on in the followed files at `paths` (see `changed`). */
  private async readChanged(paths: Set<string>): Promise<void> {
    for (const t of this.files.values()) {
      if (this.stopping) return
      if (!t.released && !t.gz && paths.has(path.resolve(t.path))) await this.readPlain(t, false)
    }
  }

  private async readAll(initial: boolean): Promise<void> {
    // Oldest content first (a stable sort keeps the found order among equals and unknowns).
    const files = [...this.files.values()].sort((a, b) => (a.firstTime || 0) - (b.firstTime || 0))
    for (const t of files) {
      if (this.stopping) return
      if (t.released) continue
      if (t.gz) {
        if (!t.cur.done) await this.readArchive(t)
      } else await this.readPlain(t, initial)
      // Catch-up: a file read to its end whose server has newer files is complete; its last
      // record goes out now, not after those newer files (where the windows would drop it as late).
      if (initial && !t.gz && files.some((o) => o.server === t.server && o.firstTime > t.firstTime)) {
        if (!this.cfg.follow) t.lines.end((line, pos) => this.push(t, line, pos))
        this.flushParser(t)
      }
      if (t.detached && this.quiet(t)) await this.release(t)
    }
  }

  /**
   * A renamed file is still written to until the writer reopens its path (PostgreSQL's logging
   * collector after `pg_ctl logrotate`, any daemon after its SIGHUP): it is let go only once
   * nothing was appended to it for rotateWait, counted from when it was found renamed at the earliest.
   */
  private quiet(t: Tracked): boolean {
    if (t.gz) return true
    return Date.now() - Math.max(t.lastDataAt, t.detachedAt ?? 0) >= this.rotateWaitMs
  }

  private async readPlain(t: Tracked, initial: boolean): Promise<void> {
    const fh = t.fh!
    let size = (await fh.stat()).size
    if (size < t.readOffset || (size !== t.size && !(await this.headUnchanged(t, size)))) {
      // copytruncate: what was written after the last read is in the copy; read on there.
      if (await this.followCopy(t)) return this.readPlain(t, initial)
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
    // Two buffers: the next chunk is read (on libuv's thread pool) while this one is parsed, so
    // the parser does not wait for the disk (a tenth of `analyze`'s time on a 1 M-line file).
    const bufs = (this.readBufs ??= [Buffer.allocUnsafe(CHUNK_BYTES), Buffer.allocUnsafe(CHUNK_BYTES)])
    let turn = 0
    const readAt = (offset: number) =>
      offset < size && !this.stopping
        ? fh.read(bufs[turn++ & 1], 0, Math.min(CHUNK_BYTES, size - offset), offset)
        : undefined
    let next = readAt(t.readOffset)
    try {
      while (next !== undefined) {
        const { bytesRead, buffer } = await next
        next = undefined
        if (bytesRead === 0 || this.stopping) break
        const at = t.readOffset
        next = readAt(at + bytesRead)
        t.lines.feed(
          buffer.subarray(0, bytesRead),
          at,
          (line, pos) => this.push(t, line, pos),
          (b, spans, pos) => this.pushAscii(t, b, spans, pos),
        )
        t.readOffset = at + bytesRead
        t.lastDataAt = Date.now()
        await this.batcher!.room()
        if (next === undefined && !initial && t.readOffset >= size) {
          size = t.size = (await fh.stat()).size
          next = readAt(t.readOffset)
        }
      }
    } finally {
      // a read still running when parsing stopped (an error, stop()) must end before the file is closed
      await next?.catch(() => {})
    }
    // Following: what was read so far holds complete records but the newest; emit them now
    // instead of after 64 more records or a quiet second (line → event latency), also at the end
    // of the catch-up, so "caught up" counts them.
    if (this.cfg.follow) t.parser.settle()
    const read = t.readOffset
    const gen = t.cur.gen
    this.batcher!.mark(() => {
      if (t.committed.gen === gen) t.committed.read = read
    })
  }

  private async headUnchanged(t: Tracked, size: number): Promise<boolean> {
    return sameHead(t.fh!, size, t.cur.fp)
  }

  /**
   * copytruncate emptied `t`'s file: if the copy beside it has more than was read, `t` reads on in
   * the copy (same parser, same ids; it is detached) and the emptied file is read anew from 0
   * under the next generation.
   */
  private async followCopy(t: Tracked): Promise<boolean> {
    const lost = { path: t.path, dev: t.cur.dev, ino: t.cur.ino, fp: t.cur.fp, offset: t.readOffset + 1 }
    const copy = await findRotated(lost, true)
    const copyKey = copy && `${copy.dev}:${copy.ino}`
    if (!copy || copy.gz || !copyKey || this.files.has(copyKey)) return false
    const fh = await open(copy.path, 'r').catch(() => undefined)
    if (!fh) return false
    this.log(`${this.name}: ${t.path} was truncated; reading what was not read yet in its copy ${copy.path}`)
    const original = { ...t.cur, path: t.path, key: t.key }
    const moved = { path: copy.path, dev: copy.dev, ino: copy.ino, birth: copy.birth, ids: idsOf(t.cur) }
    // Same bytes at the same offsets: the checkpoint may name the copy right away.
    Object.assign(t.cur, moved)
    Object.assign(t.committed, moved)
    const old = t.fh
    t.fh = fh
    t.key = copyKey
    t.path = copy.path
    t.size = (await fh.stat()).size
    this.files.delete(original.key)
    this.files.set(copyKey, t)
    this.detach(t)
    await old?.close().catch(() => {})
    const { dev, ino, birth } = original
    const fresh = {
      path: original.path,
      dev,
      ino,
      birth,
      gen: original.gen + 1,
      fp: { hash: '', length: 0 },
      offset: 0,
      after: -1,
    }
    await this.track(original.path, original.key, dev, ino, birth, fresh)
    return true
  }

  /** copytruncate (or an overwrite): the content before is gone, start again at 0 under a new generation. */
  private truncated(t: Tracked): void {
    this.log(`${this.name}: ${t.path} was truncated; reading it again from the start`)
    this.flushParser(t)
    t.lines.reset()
    const gen = t.cur.gen + 1
    t.cur = { ...t.cur, ids: undefined, gen, offset: 0, after: -1, read: undefined, fp: { hash: '', length: 0 } }
    t.readOffset = 0
    t.lastEmitted = -1
    this.irrelevantBefore += t.parser.irrelevant
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
    // Quiet for rotateWait: the writer has moved on, so its last line and record are complete.
    if (!t.gz) {
      t.lines.end((line, pos) => this.push(t, line, pos))
      this.flushParser(t)
    }
    t.released = true
    this.batcher!.mark(() => {
      if (!t.released || this.files.get(t.key) !== t) return
      this.files.delete(t.key)
      this.irrelevantBefore += t.parser.irrelevant
      this.readMarks = [...this.readMarks, { dev: t.cur.dev, ino: t.cur.ino, fp: { ...t.committed.fp } }].slice(
        -READ_MARKS,
      )
      void t.fh?.close().catch(() => {})
    })
  }
}

/** What a file's record ids are derived from: its own identity, or the file it was rotated from. */
function idsOf(cp: FileCheckpoint): string {
  return cp.ids ?? `${cp.dev}:${cp.ino}:${cp.birth}:${cp.gen}`
}

function parseState(state: unknown): FileSourceState | undefined {
  if (!state || typeof state !== 'object') return undefined
  const s = state as FileSourceState
  return s.v === 1 && Array.isArray(s.files) ? s : undefined
}
