import dgram from 'node:dgram'
import net from 'node:net'
import { DEAD_LETTER_RAW_LIMIT, type DeadLetter, type SyslogSource as SyslogConfig } from '@connrca/contracts'
import { createParser, recordId } from '@connrca/pglog'
import { Batcher } from '../batcher.js'
import { StreamSequence } from '../sequence.js'
import type { Deliver, Source, SourceDeps } from '../types.js'
import { chunkMarker, parseSyslog, type SyslogMessage, to3164 } from './frame.js'
import { TcpFramer } from './tcp-framer.js'

/** A PostgreSQL message's chunks that arrived apart wait this long for the rest… */
const REASSEMBLY_MS = 500
/** …or until this many messages came after its last chunk (a bulk send covers hours in 500 ms). */
const REASSEMBLY_MESSAGES = 1000
/** Hosts quiet this long get their parser's pending record flushed. */
const IDLE_FLUSH_MS = 1000

interface Queued {
  msg: SyslogMessage
  line: string
}

interface Group {
  key: string
  seq: number
  parts: Array<{ chunk: number; q: Queued }>
  since: number
  /** Message count at its last chunk. */
  last: number
  /** Its backend sent a newer message: no chunk can follow. */
  done: boolean
}

type Parser = ReturnType<typeof createParser>

/**
 * Syslog over UDP and TCP. PostgreSQL numbers its syslog lines `[seq-chunk]` and splits long or
 * multi-line messages into chunks; chunks of one (host, pid, seq) are collected, put in chunk
 * order and handed to the host's parser together, so interleaving with other backends or UDP
 * reordering does not tear a message apart.
 */
export class SyslogListener implements Source {
  readonly name: string
  private batcher: Batcher | undefined
  private seq!: StreamSequence
  private udp: dgram.Socket | undefined
  private tcp: net.Server | undefined
  private readonly sockets = new Set<net.Socket>()
  private readonly parsers = new Map<string, { parser: Parser; last: number; dirty: boolean }>()
  /** The open group of each (host, pid). */
  private readonly groups = new Map<string, Group>()
  /**
   * Every group not yet parsed, in the order of their first chunks: groups leave it from the
   * head only, so messages reach the parser in the order they were sent and a bulk send (a
   * relay's queue after an outage) is not reordered by hours of event time into late drops.
   */
  private pending: Group[] = []
  private pendingHead = 0
  private messages = 0
  private timer: NodeJS.Timeout | undefined
  private readonly log: (line: string) => void
  private readonly now: () => number
  private dropped = 0
  /** Position -> RFC 5424 header time, until the record starting there is emitted. */
  private readonly exactTimes = new Map<number, number>()
  private stopped = false
  private received = 0
  private readonly relevant: SourceDeps['relevant']
  private readonly batchRecords: number | undefined
  /** Bound ports (useful when configured as 0). */
  readonly ports: { udp?: number; tcp?: number } = {}

  constructor(
    private readonly cfg: SyslogConfig,
    deps: SourceDeps = {},
  ) {
    this.name = cfg.name ?? `syslog:${cfg.tcp?.port ?? cfg.udp?.port}`
    this.log = deps.logger ?? (() => {})
    this.now = deps.now ?? Date.now
    this.relevant = deps.relevant
    this.batchRecords = deps.batchRecords
  }

  async start(deliver: Deliver, state?: unknown): Promise<void> {
    this.batcher = new Batcher(deliver, { logger: this.log, sourceName: this.name, maxRecords: this.batchRecords })
    this.seq = new StreamSequence(state, this.now)
    if (this.cfg.udp) {
      const sock = dgram.createSocket({
        type: this.cfg.udp.host.includes(':') ? 'udp6' : 'udp4',
        recvBufferSize: 4 << 20,
      })
      sock.on('message', (msg) => this.onDatagram(msg))
      await new Promise<void>((resolve, reject) => {
        sock.once('error', reject)
        sock.bind(this.cfg.udp!.port, this.cfg.udp!.host, () => {
          sock.off('error', reject)
          resolve()
        })
      }).catch((err) => {
        throw new Error(
          `${this.name}: cannot listen on udp ${this.cfg.udp!.host}:${this.cfg.udp!.port}: ${(err as Error).message}`,
        )
      })
      sock.on('error', (err) => this.log(`${this.name}: udp error: ${err.message}`))
      this.udp = sock
      this.ports.udp = sock.address().port
    }
    if (this.cfg.tcp) {
      const server = net.createServer((socket) => this.onConnection(socket))
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        server.listen(this.cfg.tcp!.port, this.cfg.tcp!.host, () => {
          server.off('error', reject)
          resolve()
        })
      }).catch((err) => {
        throw new Error(
          `${this.name}: cannot listen on tcp ${this.cfg.tcp!.host}:${this.cfg.tcp!.port}: ${(err as Error).message}`,
        )
      })
      this.tcp = server
      this.ports.tcp = (server.address() as net.AddressInfo).port
    }
    this.timer = setInterval(() => this.tick(), Math.min(REASSEMBLY_MS, IDLE_FLUSH_MS) / 2)
    this.timer.unref()
  }

  checkpoint(): { next: number } {
    return this.seq?.checkpoint() ?? { next: 0 }
  }

  /** A listener has nothing to catch up on. */
  caughtUp(): Promise<void> {
    return Promise.resolve()
  }

  stats(): { received: number; dropped: number } {
    return { received: this.received, dropped: this.dropped }
  }

  async stop(): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    if (this.timer) clearInterval(this.timer)
    this.udp?.close()
    for (const s of this.sockets) s.destroy()
    await new Promise<void>((resolve) => (this.tcp ? this.tcp.close(() => resolve()) : resolve()))
    this.emitGroups(true)
    for (const p of this.parsers.values()) p.parser.flush()
    this.markDelivered()
    await this.batcher?.flush()
    this.batcher?.close()
  }

  private onDatagram(msg: Buffer): void {
    // UDP cannot push back: with downstream this far behind, datagrams are dropped (and counted).
    if (this.batcher!.size >= 50_000) {
      if (this.dropped++ % 1000 === 0)
        this.log(`${this.name}: downstream is slow, dropped ${this.dropped} datagrams so far`)
      return
    }
    if (msg.length > this.cfg.maxMessageBytes) {
      this.bad(
        `syslog datagram of ${msg.length} bytes exceeds the limit of ${this.cfg.maxMessageBytes}`,
        msg.toString('utf8', 0, 200),
      )
      return
    }
    // Some relays pack several lines into one datagram.
    for (const line of msg.toString('utf8').split('\n')) {
      const l = line.endsWith('\r') ? line.slice(0, -1) : line
      if (l.length > 0) this.onMessage(l)
    }
  }

  private onConnection(socket: net.Socket): void {
    this.sockets.add(socket)
    const framer = new TcpFramer(this.cfg.maxMessageBytes, {
      frame: (m) => this.onMessage(m),
      bad: (reason, raw) => this.bad(reason, raw),
    })
    socket.on('data', (chunk: Buffer) => {
      framer.push(chunk)
      // TCP senders wait while downstream catches up.
      const room = this.batcher!.room()
      socket.pause()
      void room.then(() => socket.resume())
    })
    socket.on('end', () => framer.end())
    socket.on('error', () => {})
    socket.on('close', () => this.sockets.delete(socket))
  }

  private onMessage(line: string): void {
    this.received++
    const m = parseSyslog(line)
    if (!m) {
      this.bad('not a syslog message (RFC 3164 or RFC 5424 header expected)', line)
      return
    }
    const n = ++this.messages
    const marker = chunkMarker(m.content)
    const key = `${m.host}\u0000${m.pid ?? ''}`
    let g = marker ? this.groups.get(key) : undefined
    if (g && g.seq !== marker!.seq) {
      g.done = true
      this.groups.delete(key)
      g = undefined
    }
    if (!g) {
      g = { key, seq: marker?.seq ?? 0, parts: [], since: this.now(), last: n, done: !marker }
      this.pending.push(g)
      if (marker) this.groups.set(key, g)
    }
    g.parts.push({ chunk: marker?.chunk ?? 1, q: { msg: m, line } })
    g.last = n
    this.emitGroups(false)
  }

  private emitGroup(g: Group): void {
    g.parts.sort((a, b) => a.chunk - b.chunk)
    for (const p of g.parts) this.toParser(p.q)
  }

  /** Parses complete groups from the head of `pending` (all: every group, at stop). */
  private emitGroups(all: boolean): void {
    let now: number | undefined
    while (this.pendingHead < this.pending.length) {
      const g = this.pending[this.pendingHead]
      if (!(all || g.done || this.messages - g.last >= REASSEMBLY_MESSAGES)) {
        now ??= this.now()
        if (now - g.since < REASSEMBLY_MS) break
      }
      this.pendingHead++
      if (this.groups.get(g.key) === g) this.groups.delete(g.key)
      this.emitGroup(g)
    }
    if (this.pendingHead > 1024 && this.pendingHead * 2 > this.pending.length) {
      this.pending = this.pending.slice(this.pendingHead)
      this.pendingHead = 0
    }
  }

  private toParser({ msg: m, line }: Queued): void {
    const server = this.cfg.server ?? this.cfg.hosts[m.host] ?? (m.host || 'unknown')
    let entry = this.parsers.get(server)
    if (!entry) {
      const batcher = this.batcher!
      entry = {
        parser: createParser(
          {
            format: this.cfg.format,
            prefix: this.cfg.prefix,
            server,
            source: { kind: 'syslog', name: this.name },
            relevant: this.relevant,
          },
          {
            record: (r) => {
              const exact = this.exactTimes.get(r.source.position as number)
              if (exact !== undefined) {
                this.exactTimes.delete(r.source.position as number)
                r.time = exact
              }
              batcher.add(r)
            },
            deadLetter: (d) => batcher.addDeadLetter(d),
          },
        ),
        last: 0,
        dirty: false,
      }
      this.parsers.set(server, entry)
    }
    const pos = this.seq.take()
    if (m.time !== undefined) {
      // RFC 5424 is handed on in the RFC 3164 shape; its full, zoned time is put back on the record.
      if (this.exactTimes.size >= 100_000) this.exactTimes.clear()
      this.exactTimes.set(pos, m.time)
      entry.parser.push(to3164(m), pos)
    } else entry.parser.push(line, pos)
    entry.last = this.now()
    entry.dirty = true
  }

  private bad(reason: string, raw: string): void {
    const position = this.seq.take()
    const d: DeadLetter = {
      id: recordId(this.name, position),
      stage: 'parse',
      reason,
      raw: raw.length > DEAD_LETTER_RAW_LIMIT ? raw.slice(0, DEAD_LETTER_RAW_LIMIT) : raw,
      server: this.cfg.server,
      source: { kind: 'syslog', name: this.name, position },
      time: this.now(),
    }
    this.batcher!.addDeadLetter(d)
  }

  private tick(): void {
    this.emitGroups(false)
    const now = this.now()
    for (const p of this.parsers.values()) {
      if (p.dirty && now - p.last >= IDLE_FLUSH_MS) {
        p.dirty = false
        p.parser.flush()
      }
    }
    this.markDelivered()
  }

  /** Positions handed out so far are covered once the batches holding them are accepted. */
  private markDelivered(): void {
    const upTo = this.seq.current
    this.batcher!.mark(() => this.seq.commit(upTo))
  }
}
