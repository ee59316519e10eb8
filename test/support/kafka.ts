/**
 * A real Kafka broker for tests, started through infra/kafka/broker.sh.
 *
 * - `KAFKA_BROKERS` set: that cluster is used, nothing is started.
 * - Otherwise the shared test broker on 127.0.0.1:19092 is started once per machine (the script
 *   is idempotent and locks, so parallel test files and runs share one JVM) and left running for
 *   the next run; `infra/kafka/broker.sh stop` stops it. Under CI the vitest global setup
 *   (test/support/kafka-global.ts) stops it at the end of the run that started it.
 * - No Java: tests using `kafkaTests.skip` are skipped with a loud message — except under
 *   `CI=true`, where they run and fail, so CI never passes without having exercised Kafka.
 */
import { execFile, execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url))
export const brokerScript = path.join(repoRoot, 'infra', 'kafka', 'broker.sh')
export const SHARED_KAFKA_PORT = 19092

function javaPresent(): boolean {
  try {
    execFileSync('java', ['-version'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

function decide(): { skip: boolean; reason?: string } {
  if (process.env.KAFKA_BROKERS) return { skip: false }
  if (javaPresent()) return { skip: false }
  const reason = 'Kafka tests SKIPPED: no KAFKA_BROKERS and no `java` on PATH to run infra/kafka/broker.sh'
  if (process.env.CI === 'true') return { skip: false, reason }
  console.warn(
    `\n${'!'.repeat(100)}\n!! ${reason}\n!! Install a JDK 17 (and maven) or set KAFKA_BROKERS to run them.\n${'!'.repeat(100)}\n`,
  )
  return { skip: true, reason }
}

/** `describe.skipIf(kafkaTests.skip)(...)`. */
export const kafkaTests = decide()

function run(cmd: string, env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'bash',
      [brokerScript, cmd],
      { env: { ...process.env, ...env }, timeout: 300_000, maxBuffer: 8 << 20 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`infra/kafka/broker.sh ${cmd} failed: ${err.message}\n${stderr}`))
        else resolve(stdout.trim().split('\n').at(-1) ?? '')
      },
    )
  })
}

let shared: Promise<string> | undefined

/** Bootstrap servers of a running broker (comma-separated), starting the shared one if needed. */
export function ensureKafka(): Promise<string> {
  if (process.env.KAFKA_BROKERS) return Promise.resolve(process.env.KAFKA_BROKERS)
  if (kafkaTests.reason) return Promise.reject(new Error(kafkaTests.reason))
  shared ??= run('start', { KAFKA_PORT: String(SHARED_KAFKA_PORT) })
  return shared
}

export interface PrivateBroker {
  brokers: string
  /** Its data, logs and pid file. */
  stateDir: string
  /** `broker.sh status`: the address while running and ready; rejects otherwise. */
  status(): Promise<string>
  stop(): Promise<void>
  start(): Promise<void>
  restart(): Promise<void>
  /** Stops the broker and deletes its data. */
  destroy(): Promise<void>
}

/**
 * A broker of one's own (own port, own fresh data dir), for tests that stop or restart it and
 * must not disturb the shared one.
 */
export async function startPrivateKafka(port: number): Promise<PrivateBroker> {
  if (kafkaTests.reason) throw new Error(kafkaTests.reason)
  const stateDir = mkdtempSync(path.join(tmpdir(), `connrca-kafka-${port}-`))
  const env = { KAFKA_PORT: String(port), KAFKA_STATE_DIR: stateDir, KAFKA_HEAP: '384m' }
  const brokers = await run('start', env)
  return {
    brokers,
    stateDir,
    status: () => run('status', env),
    start: async () => void (await run('start', env)),
    stop: async () => void (await run('stop', env)),
    restart: async () => void (await run('restart', env)),
    async destroy() {
      await run('stop', env)
      rmSync(stateDir, { recursive: true, force: true })
    },
  }
}
