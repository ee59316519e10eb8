// Where every bench script writes: bench/results/<name>.json, stamped with the machine.
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { join, resolve } from 'node:path'

export const RESULTS = join(resolve(import.meta.dirname), 'results')

export const machine = {
  cpu: cpus()[0]?.model ?? 'unknown',
  cores: cpus().length,
  memoryGiB: Math.round(totalmem() / 2 ** 30),
  node: process.version,
  date: new Date().toISOString(),
}

/** Writes bench/results/<name>.json and returns what it wrote. */
export function saveResult(name: string, data: object): string {
  mkdirSync(RESULTS, { recursive: true })
  const text = `${JSON.stringify({ machine, ...data }, null, 2)}\n`
  writeFileSync(join(RESULTS, `${name}.json`), text)
  return text
}
