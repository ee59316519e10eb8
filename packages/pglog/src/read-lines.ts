// Line readers over files and streams: chunked reads, .gz (by magic bytes) decompressed on the fly.
// Positions are byte offsets of line starts in the (decompressed) stream.

import { createReadStream } from 'node:fs'
import { Readable } from 'node:stream'
import { createGunzip } from 'node:zlib'
import { type LineBatch, LineSplitter } from './line-splitter.js'
import type { LogParser } from './parser.js'

export { type LineBatch, MAX_LINE_BYTES } from './line-splitter.js'

/** A file (plain or gzip, told by its magic bytes) as batches of lines. */
export async function* readLineBatches(path: string): AsyncIterable<LineBatch> {
  yield* splitLineBatches(createReadStream(path, { highWaterMark: 1 << 20 }))
}

/**
 * A file (plain or gzip) into a parser, its ASCII lines as bytes (LogParser.pushAscii), as the
 * file source reads; returns the number of lines.
 */
export async function feedFile(path: string, parser: Pick<LogParser, 'push' | 'pushAscii'>): Promise<number> {
  const stream = await gunzipIfCompressed(createReadStream(path, { highWaterMark: 1 << 20 }))
  const splitter = new LineSplitter()
  let lines = 0
  const onLine = (line: string, position: number) => {
    lines++
    parser.push(line, position)
  }
  const onAscii = (b: Buffer, spans: readonly number[], pos: number) => {
    lines += spans.length >> 1
    parser.pushAscii(b, spans, pos)
  }
  let base = 0
  for await (const chunk of stream) {
    splitter.feed(chunk, base, onLine, onAscii)
    base += chunk.length
  }
  splitter.end(onLine)
  return lines
}

/** Any byte stream (a file, stdin) as batches of lines; gzip (by its magic bytes) is decompressed. */
export async function* splitLineBatches(input: AsyncIterable<Buffer>): AsyncIterable<LineBatch> {
  const stream = await gunzipIfCompressed(input)
  const splitter = new LineSplitter()
  let batch: LineBatch = { lines: [], positions: [] }
  const onLine = (line: string, position: number) => {
    batch.lines.push(line)
    batch.positions.push(position)
  }
  let base = 0
  for await (const chunk of stream) {
    splitter.feedInto(chunk, base, batch)
    base += chunk.length
    if (batch.lines.length > 0) {
      yield batch
      batch = { lines: [], positions: [] }
    }
  }
  splitter.end(onLine)
  if (batch.lines.length > 0) yield batch
}

/** `zcat`-free pipes: `cat postgresql.log.gz | connrca classify` reads the log, not its gzip bytes. */
export async function gunzipIfCompressed(input: AsyncIterable<Buffer>): Promise<AsyncIterable<Buffer>> {
  const it = input[Symbol.asyncIterator]()
  let head: Buffer = Buffer.alloc(0)
  let done = false
  while (head.length < 2 && !done) {
    const r = await it.next()
    if (r.done) done = true
    else head = head.length ? Buffer.concat([head, r.value]) : r.value
  }
  async function* rest(): AsyncIterable<Buffer> {
    if (head.length) yield head
    while (!done) {
      const r = await it.next()
      if (r.done) return
      yield r.value
    }
  }
  if (head.length < 2 || head[0] !== 0x1f || head[1] !== 0x8b) return rest()
  return Readable.from(rest()).pipe(createGunzip({ chunkSize: 1 << 20 }))
}

/** A file line by line; convenient where speed does not matter (tests, small inputs). */
export async function* readLines(path: string): AsyncIterable<{ line: string; position: number }> {
  for await (const b of readLineBatches(path))
    for (let i = 0; i < b.lines.length; i++) yield { line: b.lines[i], position: b.positions[i] }
}

/** A byte stream line by line. */
export async function* splitLines(stream: AsyncIterable<Buffer>): AsyncIterable<{ line: string; position: number }> {
  for await (const b of splitLineBatches(stream))
    for (let i = 0; i < b.lines.length; i++) yield { line: b.lines[i], position: b.positions[i] }
}
