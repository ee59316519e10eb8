// Fast line reader: chunked reads, split on \n, CRLF stripped, .gz (by magic bytes) decompressed on the fly.
// Positions are byte offsets of line starts in the (decompressed) stream.

import { createReadStream } from 'node:fs'
import { open } from 'node:fs/promises'
import { createGunzip } from 'node:zlib'

/** A line longer than this is cut (the rest of it is skipped) so one runaway line cannot exhaust memory. */
export const MAX_LINE_BYTES = 16 * 1024 * 1024

async function isGzip(path: string): Promise<boolean> {
  const fh = await open(path, 'r')
  try {
    const b = Buffer.alloc(2)
    const { bytesRead } = await fh.read(b, 0, 2, 0)
    return bytesRead === 2 && b[0] === 0x1f && b[1] === 0x8b
  } finally {
    await fh.close()
  }
}

export async function* readLines(path: string): AsyncIterable<{ line: string; position: number }> {
  const gz = await isGzip(path)
  const raw = createReadStream(path, { highWaterMark: 1 << 20 })
  const stream: AsyncIterable<Buffer> = gz ? raw.pipe(createGunzip({ chunkSize: 1 << 20 })) : raw
  yield* splitLines(stream)
}

/** Splits a byte stream into lines; exported for stdin and other streams. */
export async function* splitLines(stream: AsyncIterable<Buffer>): AsyncIterable<{ line: string; position: number }> {
  let carry: Buffer | undefined // bytes of an unfinished line
  let carryPos = 0
  let skipping = false // inside an over-long line: drop bytes until its newline
  let base = 0 // stream offset of the current chunk
  for await (const chunk of stream) {
    let start = 0
    let nl = chunk.indexOf(10)
    while (nl >= 0) {
      if (skipping) skipping = false
      else if (carry !== undefined) {
        const buf = Buffer.concat([carry, chunk.subarray(0, nl)])
        yield { line: decode(buf, 0, buf.length), position: carryPos }
      } else yield { line: decode(chunk, start, nl), position: base + start }
      carry = undefined
      start = nl + 1
      nl = chunk.indexOf(10, start)
    }
    if (start < chunk.length && !skipping) {
      const rest = chunk.subarray(start)
      if (carry === undefined) {
        carry = Buffer.from(rest)
        carryPos = base + start
      } else carry = Buffer.concat([carry, rest])
      if (carry.length > MAX_LINE_BYTES) {
        yield { line: decode(carry, 0, carry.length), position: carryPos }
        carry = undefined
        skipping = true
      }
    }
    base += chunk.length
  }
  if (carry !== undefined && carry.length > 0) yield { line: decode(carry, 0, carry.length), position: carryPos }
}

function decode(b: Buffer, start: number, end: number): string {
  if (end > start && b[end - 1] === 13) end--
  return b.toString('utf8', start, end)
}
