import { stat } from 'node:fs/promises'
import { mayClassify } from '@connrca/classifier'
import { type LogFormat, SourceConfig } from '@connrca/contracts'
import { createSource, type Deliver, type Source } from '@connrca/pipeline'
import { compilePrefix } from '@connrca/pglog'
import { UserError } from '../errors.js'
import { inputStream } from '../stdin-shield.js'

export interface InputFlags {
  format: LogFormat
  prefix?: string
  server?: string
}

/**
 * The sources for paths named on the command line: one file source for the files (`follow`:
 * run keeps reading, analyze stops at their end), a stdin source for `-`. Every command reads
 * through these, so a line gets the same record id whichever command read it.
 */
export async function sourcesForPaths(paths: string[], flags: InputFlags, follow: boolean): Promise<SourceConfig[]> {
  if (flags.prefix !== undefined) assertPrefix(flags.prefix)
  const common = {
    format: flags.format,
    ...(flags.prefix ? { prefix: flags.prefix } : {}),
    ...(flags.server ? { server: flags.server } : {}),
  }
  const files = paths.filter((p) => p !== '-')
  for (const p of files) if (!/[*?[]/.test(p)) await assertReadable(p)
  const out: SourceConfig[] = []
  if (files.length) out.push(SourceConfig.parse({ type: 'file', paths: files, follow, ...common }))
  if (paths.includes('-')) out.push(SourceConfig.parse({ type: 'stdin', ...common }))
  return out
}

/**
 * Records per batch handed to the pipeline in this process: measured against the sources' 5000
 * (2026-12-07, 2 cores): `run --once` 10 M lines 15.2-17.1 s against 19.0-22.4 s and 2.75 M lines
 * 4.8-5.2 against 5.7-5.9 s; `analyze --no-store` 1 M lines ~5 % less CPU. Fewer records are
 * alive at once, so fewer survive the young-generation collections and fill the capped old
 * generation (heap.ts). 2000 gave 16.1-18.0 s, 500 and 250 no better than 1000.
 */
const BATCH_RECORDS = 1000

/** Sources as the pipeline reads them: only records the classifier can use are built. */
export function openSources(configs: SourceConfig[], log: (line: string) => void): Source[] {
  const deps = { logger: log, stdin: inputStream(), relevant: mayClassify, batchRecords: BATCH_RECORDS }
  const sources = configs.map((cfg) => createSource(cfg, deps))
  const names = new Set<string>()
  for (const s of sources) {
    if (names.has(s.name)) throw new UserError(`two sources are named "${s.name}"; give each a distinct name`)
    names.add(s.name)
  }
  return sources
}

/** Reads sources that end (files without follow, stdin) to their end, then stops them. */
export async function readToEnd(sources: Source[], deliver: Deliver): Promise<ReadTotals> {
  await Promise.all(sources.map((s) => s.start(deliver)))
  await Promise.all(sources.map((s) => s.caughtUp()))
  await Promise.all(sources.map((s) => s.stop()))
  return readTotals(sources)
}

export interface ReadTotals {
  bytesRead: number
  bytesTotal: number
  lines: number
  /** Records the relevance filter let go (not built, not delivered). */
  irrelevant: number
}

/** What the sources read so far, summed: progress lines and record counts. */
export function readTotals(sources: Source[]): ReadTotals {
  const t: ReadTotals = { bytesRead: 0, bytesTotal: 0, lines: 0, irrelevant: 0 }
  for (const s of sources) {
    const p = s.progress?.()
    const r = s.readStats?.()
    t.bytesRead += p?.bytesRead ?? 0
    t.bytesTotal += p?.bytesTotal ?? 0
    t.lines += r?.lines ?? 0
    t.irrelevant += r?.irrelevant ?? 0
  }
  return t
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
    await stat(path)
  } catch (err) {
    throw new UserError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`)
  }
}
