import { stat } from 'node:fs/promises'
import type { DeadLetter, LogFormat, LogRecord } from '@connrca/contracts'
import { compilePrefix, createParser, readLineBatches, splitLineBatches } from '@connrca/pglog'
import { UserError } from '../errors.js'
import { mayClassify } from '@connrca/classifier'
import type { Batch } from './pipeline.js'

const BATCH = 4096

export interface ReadOptions {
  format: LogFormat
  prefix?: string
  server?: string
  onProgress?: (bytes: number, lines: number) => void
}

/** One-shot read of whole files (or `-` for stdin) through the parser, in batches. */
export async function readFiles(
  paths: string[],
  opts: ReadOptions,
  deliver: (batch: Batch) => Promise<void>,
): Promise<{ lines: number; bytes: number; irrelevant: number }> {
  for (const p of paths) if (p !== '-') await assertReadable(p)
  if (opts.prefix !== undefined) assertPrefix(opts.prefix)
  let lines = 0
  let bytes = 0
  let irrelevant = 0
  for (const path of paths) {
    let records: LogRecord[] = []
    let deadLetters: DeadLetter[] = []
    const parser = createParser(
      {
        format: opts.format,
        prefix: opts.prefix,
        server: opts.server,
        source: { kind: path === '-' ? 'stdin' : 'file', name: path },
        // only what the classifier can use is built; the rest is counted (ReadResult.irrelevant)
        relevant: mayClassify,
      },
      { record: (r) => records.push(r), deadLetter: (d) => deadLetters.push(d) },
    )
    const send = async () => {
      if (records.length === 0 && deadLetters.length === 0) return
      const batch = { records, deadLetters }
      records = []
      deadLetters = []
      await deliver(batch)
    }
    let fileBytes = 0
    for await (const batch of path === '-' ? splitLineBatches(process.stdin) : readLineBatches(path)) {
      const n = batch.lines.length
      for (let i = 0; i < n; i++) parser.push(batch.lines[i], batch.positions[i])
      lines += n
      fileBytes = batch.positions[n - 1] + Buffer.byteLength(batch.lines[n - 1]) + 1
      if (records.length >= BATCH) {
        await send()
        opts.onProgress?.(bytes + fileBytes, lines)
      }
    }
    parser.flush()
    await send()
    irrelevant += parser.irrelevant
    bytes += fileBytes
    opts.onProgress?.(bytes, lines)
  }
  return { lines, bytes, irrelevant }
}

/** A bad --prefix is a usage error before any input is read, not a dead letter per line. */
export function assertPrefix(prefix: string): void {
  try {
    compilePrefix(prefix)
  } catch (err) {
    throw new UserError(`bad --prefix: ${(err as Error).message}`)
  }
}

async function assertReadable(path: string) {
  try {
    const s = await stat(path)
    if (!s.isFile()) throw new UserError(`cannot read ${path}: not a file`)
  } catch (err) {
    if (err instanceof UserError) throw err
    throw new UserError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`)
  }
}
