/**
 * One running instance per data directory: the embedded engine locks its directory, so while
 * `connrca run` holds it other commands either go through its API (found through a small state
 * file it writes into the directory) or say in one line what holds the directory and what to do,
 * instead of the engine's two-line "Cannot lock file … status" exception.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { Config } from '@connrca/contracts'
import { openStore, type Store } from '@connrca/store'
import { UserError } from './errors.js'

/** Written by `connrca run` once its API listens; removed when it stops. */
export const INSTANCE_FILE = 'connrca-instance.json'

export interface Instance {
  pid: number
  /** Base URL of its API, when it serves one. */
  url?: string
  startedAt: string
}

export function writeInstanceFile(dataDir: string, instance: Instance): void {
  writeFileSync(join(dataDir, INSTANCE_FILE), `${JSON.stringify(instance)}\n`)
}

export function removeInstanceFile(dataDir: string): void {
  rmSync(join(dataDir, INSTANCE_FILE), { force: true })
}

/** The process holding an embedded data directory, if a live one does (other than this one). */
export function dataDirHolder(dataDir: string): Instance | undefined {
  // The engine writes "PID: n" into `status` and keeps it locked while open; a crash leaves the
  // file behind with a dead pid, which does not count.
  const pid = Number(/^PID: (\d+)$/m.exec(readOr(join(dataDir, 'status')))?.[1])
  if (!pid || pid === process.pid || !alive(pid)) return undefined
  let instance: Partial<Instance> = {}
  try {
    instance = JSON.parse(readOr(join(dataDir, INSTANCE_FILE)) || '{}')
  } catch {
    // a torn file: we still know the pid
  }
  return { startedAt: '', ...(instance.pid === pid ? instance : {}), pid }
}

/** "process 123 (connrca run, API http://127.0.0.1:8080)". */
export function describeHolder(h: Instance): string {
  const what = commandLine(h.pid)
  const detail = [what, h.url ? `API ${h.url}` : undefined].filter(Boolean).join(', ')
  return `process ${h.pid}${detail ? ` (${detail})` : ''}`
}

/**
 * Opens the configured store; on an embedded directory another process holds, ends in one line
 * naming the holder and what to do (`instead`: the way around it for this command).
 */
export async function openStoreOrExplain(config: Config, instead: string): Promise<Store> {
  if (!config.store.url) {
    const holder = dataDirHolder(resolve(config.store.dataDir))
    if (holder) throw busy(config.store.dataDir, holder, instead)
  }
  return openStore(config.store)
}

export function busy(dataDir: string, holder: Instance, instead: string): UserError {
  return new UserError(`the data directory ${dataDir} is in use by ${describeHolder(holder)}: ${instead}`)
}

function readOr(path: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return ''
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    // EPERM: it exists, it is just not ours to signal
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** "connrca run" for a connrca process, else the program name, from /proc where there is one. */
function commandLine(pid: number): string | undefined {
  const args = readOr(`/proc/${pid}/cmdline`).split('\0').filter(Boolean)
  if (args.length === 0) return undefined
  const i = args.findIndex((a) => /(^|\/)(main\.ts|cli\.js|connrca)$/.test(a))
  if (i >= 0 && args[i + 1]) return `connrca ${args[i + 1]}`
  return args[0].split('/').pop()
}
