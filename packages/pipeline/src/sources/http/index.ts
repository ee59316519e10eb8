import { timingSafeEqual } from 'node:crypto'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { gunzipSync, inflateSync } from 'node:zlib'
import { type HttpSource as HttpConfig, LogFormat, type LogRecord } from '@connrca/contracts'
import { createParser } from '@connrca/pglog'
import { Batcher } from '../batcher.js'
import { StreamSequence } from '../sequence.js'
import type { Deliver, Source, SourceDeps } from '../types.js'
import { type LogplexBody, logplexBody } from './logplex.js'

/** Fields of an NDJSON object that hold the raw log line (Vector, Fluent Bit, Logstash, plain). */
const LINE_FIELDS = ['message', 'log', 'line'] as const
const SERVER_FIELDS = ['server', 'host', 'hostname'] as const

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
  }
}

/**
 * `POST /v1/logs`: NDJSON (`application/x-ndjson`, one object per line with the raw line in
 * `message`/`log`/`line`, or a PostgreSQL jsonlog object), plain text lines, or a Heroku HTTPS
 * drain's octet-counted frames (`application/logplex-1`, see logplex.ts). The server name and
 * format come from `X-Connrca-Server` / `X-Connrca-Format` headers or `server` / `format` query
 * parameters. 202 is sent only after the records were accepted downstream, so a forwarder that
 * sees an error (or a dropped connection) retries. With an `Idempotency-Key` header a retried
 * body gets the same record ids and is not counted twice.
 */
export class HttpPushSource implements Source {
  readonly name: string
  private server: http.Server | undefined
  private batcher: Batcher | undefined
  private seq!: StreamSequence
  private readonly token: Buffer
  private readonly log: (line: string) => void
  port = 0
  private readonly relevant: SourceDeps['relevant']
  private readonly batchRecords: number | undefined
  private readonly now: () => number

  constructor(
    private readonly cfg: HttpConfig,
    deps: SourceDeps = {},
  ) {
    this.name = cfg.name ?? `http:${cfg.port}`
    this.log = deps.logger ?? (() => {})
    this.relevant = deps.relevant
    this.batchRecords = deps.batchRecords
    this.now = deps.now ?? Date.now
    const token = cfg.token ?? (cfg.tokenEnv ? process.env[cfg.tokenEnv] : undefined)
    if (!token) throw new Error(`${this.name}: the bearer token environment variable ${cfg.tokenEnv} is not set`)
    this.token = Buffer.from(token)
  }

  async start(deliver: Deliver, state?: unknown): Promise<void> {
    this.batcher = new Batcher(deliver, { logger: this.log, sourceName: this.name, maxRecords: this.batchRecords })
    this.seq = new StreamSequence(state)
    const server = http.createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        const e = err instanceof HttpError ? err : new HttpError(500, 'internal error')
        if (!(err instanceof HttpError)) this.log(`${this.name}: ${(err as Error).message}`)
        // The rest of an oversized body is read and thrown away so the client sees the 413.
        if (e.status === 413 && !res.headersSent) res.setHeader('connection', 'close')
        reply(res, e.status, { error: e.message })
        req.resume()
      })
    })
    server.requestTimeout = 60_000
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.cfg.port, this.cfg.host, () => {
        server.off('error', reject)
        resolve()
      })
    }).catch((err) => {
      throw new Error(`${this.name}: cannot listen on ${this.cfg.host}:${this.cfg.port}: ${(err as Error).message}`)
    })
    this.server = server
    this.port = (server.address() as AddressInfo).port
  }

  checkpoint(): { next: number } {
    return this.seq?.checkpoint() ?? { next: 0 }
  }

  caughtUp(): Promise<void> {
    return Promise.resolve()
  }

  async stop(): Promise<void> {
    const server = this.server
    if (server) {
      await new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeIdleConnections()
      })
    }
    await this.batcher?.flush()
    this.batcher?.close()
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x')
    if (url.pathname !== '/v1/logs') throw new HttpError(404, `no such endpoint ${url.pathname}; POST /v1/logs`)
    if (req.method !== 'POST') throw new HttpError(405, 'use POST')
    const type = (req.headers['content-type'] ?? 'text/plain').split(';')[0].trim().toLowerCase()
    const logplex = type === 'application/logplex-1'
    if (!this.authorized(req.headers.authorization, logplex))
      throw new HttpError(401, logplex ? 'missing or wrong token (bearer, or the drain URL password)' : 'missing or wrong bearer token')
    const declared = Number(req.headers['content-length'])
    if (declared > this.cfg.maxBodyBytes)
      throw new HttpError(413, `body of ${declared} bytes exceeds the limit of ${this.cfg.maxBodyBytes}`)
    const formatText = header(req, 'x-connrca-format') ?? url.searchParams.get('format') ?? this.cfg.format
    const format = LogFormat.safeParse(formatText)
    if (!format.success)
      throw new HttpError(400, `unknown format "${formatText}" (use one of ${LogFormat.options.join(', ')})`)
    const server = header(req, 'x-connrca-server') ?? url.searchParams.get('server') ?? this.cfg.server
    const ndjson = type === 'application/x-ndjson' || type === 'application/json' || type === 'application/jsonlines'
    if (!ndjson && !logplex && type !== 'text/plain')
      throw new HttpError(
        415,
        `unsupported content type ${type}; send application/x-ndjson, text/plain or application/logplex-1`,
      )

    const body = decode(await readBody(req, this.cfg.maxBodyBytes), header(req, 'content-encoding'), this.cfg.maxBodyBytes)
    // lines whose prefix has no timestamp (`user=%u,db=%d,app=%a,client=%h `) take the arrival time
    const arrived = this.now()
    let lines: BodyLine[]
    let skipped = 0
    if (logplex) {
      let framed: LogplexBody
      try {
        framed = logplexBody(body, header(req, 'logplex-msg-count'))
      } catch (e) {
        throw new HttpError(400, (e as Error).message)
      }
      lines = framed.lines.map((line) => ({ line, server }))
      skipped = framed.skipped
    } else lines = splitBody(body, ndjson, server)

    // Logplex retries a batch with the same Logplex-Frame-Id
    const key = header(req, 'idempotency-key') ?? (logplex ? header(req, 'logplex-frame-id') : undefined)
    if (key !== undefined && !/^[\w.:-]{1,128}$/.test(key))
      throw new HttpError(400, 'Idempotency-Key must be 1-128 characters of [A-Za-z0-9_.:-]')
    await this.batcher!.room()
    const batcher = this.batcher!
    let records = 0
    let deadLetters = 0
    const parsers = new Map<string, ReturnType<typeof createParser>>()
    const parserFor = (srv: string | undefined) => {
      const k = srv ?? ''
      let p = parsers.get(k)
      if (!p) {
        // With a key, ids derive from key + line number, so a retried body maps onto the same ids.
        const idName = key !== undefined ? `${this.name}#${key}` : this.name
        p = createParser(
          {
            // logplex frames are Heroku's syslog lines, whose log_line_prefix is Heroku's (detected)
            format: logplex ? 'syslog' : format.data,
            prefix: logplex ? undefined : this.cfg.prefix,
            server: srv,
            source: { kind: 'http', name: idName },
            relevant: this.relevant,
            arrivalTime: () => arrived,
          },
          {
            record: (r: LogRecord) => {
              r.source.name = this.name
              records++
              batcher.add(r)
            },
            deadLetter: (d) => {
              if (d.source) d.source.name = this.name
              deadLetters++
              batcher.addDeadLetter(d)
            },
          },
        )
        parsers.set(k, p)
      }
      return p
    }
    for (let i = 0; i < lines.length; i++) {
      const l = lines[i]
      parserFor(l.server).push(l.line, key !== undefined ? i : this.seq.take())
    }
    for (const p of parsers.values()) p.flush()
    // records the relevance filter let go were read and accepted too, just not delivered
    for (const p of parsers.values()) records += p.irrelevant
    const upTo = this.seq.current
    await new Promise<void>((resolve) =>
      batcher.mark(() => {
        this.seq.commit(upTo)
        resolve()
      }),
    )
    reply(res, 202, logplex ? { accepted: records, deadLetters, skipped } : { accepted: records, deadLetters })
  }

  /**
   * `Bearer <token>` (the scheme in any case, RFC 7235 §2.1); for logplex bodies also `Basic` with
   * the token as the password: a Heroku drain cannot set headers, it sends the credentials of its
   * URL (`https://connrca:<token>@host/…`). Other clients must send Bearer.
   */
  private authorized(h: string | undefined, logplex: boolean): boolean {
    let given: Buffer
    const bearer = h === undefined ? null : /^bearer +(.*)$/i.exec(h)
    if (bearer) given = Buffer.from(bearer[1].trim())
    else if (logplex && h !== undefined && /^basic /i.test(h)) {
      const pair = Buffer.from(h.slice(6).trim(), 'base64').toString('utf8')
      const colon = pair.indexOf(':')
      if (colon < 0) return false
      given = Buffer.from(pair.slice(colon + 1))
    } else return false
    return given.length === this.token.length && timingSafeEqual(given, this.token)
  }
}

function header(req: http.IncomingMessage, name: string): string | undefined {
  const v = req.headers[name]
  return Array.isArray(v) ? v[0] : v || undefined
}

/**
 * Vector, Fluent Bit and Logstash compress by default. The limit applies to the decompressed
 * size too, so a small bomb cannot expand past it.
 */
function decode(body: Buffer, encoding: string | undefined, limit: number): Buffer {
  const enc = (encoding ?? 'identity').trim().toLowerCase()
  if (enc === 'identity' || enc === '') return body
  if (enc !== 'gzip' && enc !== 'x-gzip' && enc !== 'deflate')
    throw new HttpError(415, `unsupported Content-Encoding ${enc}; send gzip, deflate or none`)
  try {
    return enc === 'deflate' ? inflateSync(body, { maxOutputLength: limit }) : gunzipSync(body, { maxOutputLength: limit })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE')
      throw new HttpError(413, `body exceeds the limit of ${limit} bytes once decompressed`)
    throw new HttpError(400, `body is not valid ${enc}: ${(err as Error).message}`)
  }
}

function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (c: Buffer) => {
      size += c.length
      if (size > limit) {
        req.removeAllListeners('data')
        req.pause()
        reject(new HttpError(413, `body exceeds the limit of ${limit} bytes`))
        return
      }
      chunks.push(c)
    })
    req.on('end', () => resolve(Buffer.concat(chunks)))
    req.on('error', reject)
  })
}

interface BodyLine {
  line: string
  server?: string
}

function splitBody(body: Buffer, ndjson: boolean, server: string | undefined): BodyLine[] {
  const text = body.toString('utf8')
  const out: BodyLine[] = []
  let start = 0
  let n = 0
  while (start <= text.length) {
    let end = text.indexOf('\n', start)
    if (end < 0) end = text.length
    n++
    let line = text.slice(start, end)
    start = end + 1
    if (line.endsWith('\r')) line = line.slice(0, -1)
    if (!ndjson) {
      if (line.length > 0 || start <= text.length) out.push({ line, server })
      continue
    }
    if (line.trim() === '') continue
    let obj: unknown
    try {
      obj = JSON.parse(line)
    } catch {
      throw new HttpError(400, `line ${n} is not valid JSON`)
    }
    if (!obj || typeof obj !== 'object' || Array.isArray(obj))
      throw new HttpError(400, `line ${n} is not a JSON object`)
    const o = obj as Record<string, unknown>
    const field = LINE_FIELDS.find((f) => typeof o[f] === 'string')
    const srvField = SERVER_FIELDS.find((f) => typeof o[f] === 'string')
    const srv = server ?? (srvField ? (o[srvField] as string) : undefined)
    // Without a raw-line field the object itself is the record (PostgreSQL jsonlog).
    out.push({ line: field ? (o[field] as string) : line, server: srv })
  }
  // A trailing newline does not make an empty last line.
  if (!ndjson && out.length > 0 && out[out.length - 1].line === '' && text.endsWith('\n')) out.pop()
  return out
}

function reply(res: http.ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
  res.end(text)
}
