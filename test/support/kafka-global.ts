/**
 * vitest globalSetup: tags brokers started during this run (KAFKA_OWNER, inherited by the test
 * workers) and, under CI only, stops the shared test broker at the end if this run started it.
 * Locally the broker is left running so the next run starts instantly.
 */
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { brokerScript, SHARED_KAFKA_PORT } from './kafka.js'

export default function setup(): () => void {
  const owner = `vitest-${process.pid}-${Date.now()}`
  process.env.KAFKA_OWNER = owner
  return () => {
    if (process.env.CI !== 'true' || process.env.KAFKA_BROKERS) return
    const stateDir = path.join(process.env.TMPDIR || tmpdir(), `connrca-kafka-${SHARED_KAFKA_PORT}`)
    let startedBy = ''
    try {
      startedBy = readFileSync(path.join(stateDir, 'owner'), 'utf8').trim()
    } catch {
      return
    }
    if (startedBy !== owner) return
    execFileSync('bash', [brokerScript, 'stop'], {
      env: { ...process.env, KAFKA_PORT: String(SHARED_KAFKA_PORT) },
      stdio: 'inherit',
    })
  }
}
