import { mkdtempSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { DeadLetter, LogRecord } from '@connrca/contracts'
import type { SourceBatch } from '../../src/sources/types.js'

export function tmpDir(prefix = 'connrca-collector-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix))
}

/** A downstream that keeps everything it accepted; `hold()` makes it slow. */
export class Collector {
  records: LogRecord[] = []
  deadLetters: DeadLetter[] = []
  batches = 0
  private gate: Promise<void> | undefined
  private open: (() => void) | undefined

  deliver = async (b: SourceBatch): Promise<void> => {
    if (this.gate) await this.gate
    this.batches++
    this.records.push(...b.records)
    this.deadLetters.push(...b.deadLetters)
  }

  hold(): void {
    this.gate = new Promise((r) => {
      this.open = r
    })
  }

  release(): void {
    this.gate = undefined
    this.open?.()
  }

  messages(): string[] {
    return this.records.map((r) => r.message)
  }
}

export async function waitFor(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const start = Date.now()
  while (!cond()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

/** A stderr line with the '%m [%p] ' prefix. */
export function pgLine(
  n: number,
  msg = `connection received: host=10.0.0.${n % 250} port=${5000 + (n % 1000)}`,
  pid = 1000 + n,
): string {
  const t = new Date(Date.UTC(2024, 4, 1, 10, 0, 0) + n * 1000).toISOString().replace('T', ' ').replace('Z', '')
  return `${t} UTC [${pid}] LOG:  ${msg}\n`
}

export function unique<T>(xs: T[]): boolean {
  return new Set(xs).size === xs.length
}
