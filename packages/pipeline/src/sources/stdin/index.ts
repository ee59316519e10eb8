import type { StdinSource as StdinSourceConfig } from '@connrca/contracts'
import { Batcher } from '../batcher.js'
import { createParser, gunzipIfCompressed, LineSplitter } from '@connrca/pglog'
import type { Deliver, Source, SourceDeps } from '../types.js'

/**
 * `connrca run -` / `connrca classify`: lines from standard input. Positions are byte offsets of
 * the input, so feeding the same input twice yields the same record ids (and no double counts).
 * Nothing to resume: the checkpoint only tells how far the input was delivered.
 */
export class StdinSource implements Source {
  readonly name: string
  private batcher: Batcher | undefined
  private parser: ReturnType<typeof createParser> | undefined
  private loop: Promise<void> | undefined
  private stopping = false
  private bytes = 0
  private lines = 0
  private delivered = 0
  private caughtUpResolve!: () => void
  private readonly caughtUpPromise = new Promise<void>((r) => {
    this.caughtUpResolve = r
  })

  constructor(
    private readonly cfg: StdinSourceConfig,
    private readonly deps: SourceDeps = {},
  ) {
    this.name = cfg.name ?? 'stdin'
  }

  async start(deliver: Deliver): Promise<void> {
    const log = this.deps.logger ?? (() => {})
    this.batcher = new Batcher(deliver, { logger: log, sourceName: this.name, maxRecords: this.deps.batchRecords })
    this.loop = this.read().catch((err) => log(`${this.name}: read failed: ${(err as Error).message}`))
    void this.loop.finally(() => this.caughtUpResolve())
  }

  private async read(): Promise<void> {
    const batcher = this.batcher!
    const parser = (this.parser = createParser(
      {
        format: this.cfg.format,
        prefix: this.cfg.prefix,
        server: this.cfg.server,
        source: { kind: 'stdin', name: this.name },
        relevant: this.deps.relevant,
      },
      { record: (r) => batcher.add(r), deadLetter: (d) => batcher.addDeadLetter(d) },
    ))
    const lines = new LineSplitter()
    const push = (line: string, pos: number) => {
      this.lines++
      parser.push(line, pos)
    }
    const pushAscii = (b: Buffer, spans: readonly number[], pos: number) => {
      this.lines += spans.length >> 1
      parser.pushAscii(b, spans, pos)
    }
    // `cat postgresql.log.gz | connrca …` reads the log, not its gzip bytes (positions count the log's bytes)
    const input = await gunzipIfCompressed((this.deps.stdin ?? process.stdin) as AsyncIterable<Buffer>)
    for await (const chunk of input) {
      if (this.stopping) break
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer)
      lines.feed(buf, this.bytes, push, pushAscii)
      // the current end of a stream that may stay open (`tail -f … | connrca run -`): what
      // cannot grow any more goes out now, not when more input comes
      parser.settle()
      this.bytes += buf.length
      const upTo = this.bytes
      batcher.mark(() => {
        this.delivered = upTo
      })
      await batcher.room()
    }
    lines.end(push)
    parser.flush()
    await batcher.flush()
  }

  checkpoint(): { bytes: number } {
    return { bytes: this.delivered }
  }

  caughtUp(): Promise<void> {
    return this.caughtUpPromise
  }

  readStats(): { lines: number; irrelevant: number } {
    return { lines: this.lines, irrelevant: this.parser?.irrelevant ?? 0 }
  }

  progress(): { bytesRead: number; bytesTotal: number } {
    return { bytesRead: this.bytes, bytesTotal: this.bytes }
  }

  async stop(): Promise<void> {
    this.stopping = true
    ;(this.deps.stdin ?? process.stdin).pause()
    this.parser?.flush()
    await this.batcher?.flush()
    this.batcher?.close()
  }
}
