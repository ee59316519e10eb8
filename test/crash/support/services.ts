import { type ChildProcess, spawn } from 'node:child_process'
import { resolve } from 'node:path'
import { connrcaNodeArgs } from '../../support/cli.js'
import { exited, REPO, sleep } from './process.js'

const MUTANTS = resolve(import.meta.dirname, 'kafka-mutants.ts')

export type ServiceName = 'collector' | 'classifier' | 'aggregator' | 'notifier'

export interface Service {
  name: ServiceName
  child: ChildProcess
  log(): string
}

/**
 * `connrca service <name>` as one node process (see process.ts: SIGKILL must reach connrca, not
 * the tsx wrapper). KAFKA_CRASH_MUTANT loads kafka-mutants.ts into it.
 */
export function startService(name: ServiceName, env: Record<string, string>): Service {
  // From dist/ like the image; a mutant patches the TypeScript sources, so it runs them instead.
  const mutate = process.env.KAFKA_CRASH_MUTANT ? [MUTANTS] : []
  const child = spawn(process.execPath, connrcaNodeArgs(['service', name], mutate), {
    cwd: REPO,
    env: { ...process.env, CONNRCA_HEALTH_PORT: '0', CONNRCA_HEALTH_HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  let err = ''
  child.stderr?.on('data', (d) => {
    if (process.env.E2E_DEBUG) process.stderr.write(`[${name} ${child.pid}] ${d}`)
    err += d
    if (err.length > 400_000) err = err.slice(-200_000)
  })
  return { name, child, log: () => err }
}

/** Resolves once the service serves /healthz (its consumers are subscribed by then). */
export async function running(s: Service, ms = 60_000): Promise<void> {
  for (const deadline = Date.now() + ms; !/"healthPort":\d+/.test(s.log()); await sleep(100)) {
    if (s.child.exitCode !== null) throw new Error(`${s.name} exited ${s.child.exitCode}:\n${s.log().slice(-3000)}`)
    if (Date.now() > deadline) throw new Error(`${s.name} not running after ${ms} ms:\n${s.log().slice(-3000)}`)
  }
}

export async function kill9(s: Service): Promise<void> {
  s.child.kill('SIGKILL')
  const { signal } = await exited(s.child)
  if (signal !== 'SIGKILL') throw new Error(`${s.name} ended by ${signal}, not by the SIGKILL`)
}

/** SIGTERM and the exit code (a service that hangs is killed after 30 s and reports null). */
export async function stopService(s: Service): Promise<number | null> {
  if (s.child.exitCode !== null || s.child.signalCode !== null) return s.child.exitCode
  const force = setTimeout(() => s.child.kill('SIGKILL'), 30_000)
  s.child.kill('SIGTERM')
  const { code } = await exited(s.child)
  clearTimeout(force)
  return code
}

/** Sum of a counter over its label sets, from the service's /metrics. */
export async function counter(s: Service, name: string): Promise<number> {
  const port = /"healthPort":(\d+)/.exec(s.log())?.[1]
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
  let sum = 0
  for (const m of text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm'))) sum += Number(m[1])
  return sum
}
