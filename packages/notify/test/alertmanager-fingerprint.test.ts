/**
 * Our Alertmanager `fingerprint` against the one real Alertmanager computes for the same labels
 * (Debian `prometheus-alertmanager`): alerts are POSTed to its /api/v2/alerts and read back.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { NotifyConfig } from '@connrca/contracts'
import { fingerprint } from '../src/formats/alertmanager.js'
import { createNotifier } from '../src/notifier.js'
import { memoryNotifyState } from '../src/state.js'
import { makeEvent } from './helpers.js'
import { freePort } from '../../../test/support/free-port.js'

const BINARY = '/usr/bin/prometheus-alertmanager'
const present = existsSync(BINARY)
if (!present && process.env.CI === 'true') {
  throw new Error(`alertmanager test: ${BINARY} is missing; CI must install the Debian package "prometheus-alertmanager"`)
}
if (!present) console.warn(`\n*** alertmanager test SKIPPED: ${BINARY} not found (apt-get install prometheus-alertmanager) ***\n`)

const LABEL_SETS: Record<string, string>[] = [
  { alertname: 'PostgresConnectionFailures', category: 'firewall_deny', server: 'orders-prod', severity: 'warning' },
  { alertname: 'PostgresConnectionFailures', category: 'auth_fail', server: 'crm-prod', severity: 'critical' },
  { alertname: 'x', zone: 'Zürich – ünïcödé', empty: '' },
]

describe.skipIf(!present)('Alertmanager fingerprint', () => {
  let proc: ChildProcess
  let dir: string
  let base: string

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'connrca-am-'))
    const config = path.join(dir, 'am.yml')
    writeFileSync(config, 'route:\n  receiver: none\nreceivers:\n  - name: none\n')
    const port = await freePort()
    const cluster = await freePort()
    proc = spawn(
      BINARY,
      [
        `--config.file=${config}`,
        `--storage.path=${dir}`,
        `--web.listen-address=127.0.0.1:${port}`,
        `--cluster.listen-address=127.0.0.1:${cluster}`,
      ],
      { stdio: 'ignore' },
    )
    base = `http://127.0.0.1:${port}`
    for (let i = 0; i < 100; i++) {
      if (await fetch(`${base}/-/ready`).then((r) => r.ok, () => false)) return
      await new Promise((r) => setTimeout(r, 100))
    }
    throw new Error('alertmanager did not start')
  }, 20_000)

  afterAll(async () => {
    // Alertmanager writes its nflog/silences snapshot on SIGTERM: wait for it to exit before removing
    // its storage directory, or rmdir races the last write (ENOTEMPTY, a CI failure).
    if (proc && proc.exitCode === null) {
      const exited = new Promise((r) => proc.once('exit', r))
      proc.kill()
      await exited
    }
    if (dir) rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 })
  })

  it('matches the fingerprints real Alertmanager computes, byte for byte', async () => {
    const res = await fetch(`${base}/api/v2/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(LABEL_SETS.map((labels) => ({ labels }))),
    })
    expect(res.status).toBe(200)
    const alerts = (await (await fetch(`${base}/api/v2/alerts`)).json()) as {
      labels: Record<string, string>
      fingerprint: string
    }[]
    expect(alerts.length).toBe(LABEL_SETS.length)
    for (const a of alerts) expect(fingerprint(a.labels), JSON.stringify(a.labels)).toBe(a.fingerprint)
    // the value the issue quotes from Alertmanager 0.25
    expect(fingerprint(LABEL_SETS[0])).toBe('45e0210ff4b5d762')
  })

  it('receiver format alertmanager-api pushes incidents to /api/v2/alerts: firing while open, resolved after', async () => {
    const config = NotifyConfig.parse({
      receivers: [{ name: 'am', url: `${base}/api/v2/alerts`, format: 'alertmanager-api' }],
      routes: [{ name: 'ops', receivers: ['am'], groupWait: '0s', groupInterval: '0s' }],
    })
    const lines: string[] = []
    const n = createNotifier({ config, state: memoryNotifyState(), logger: (l) => lines.push(l) })
    const now = Date.now()
    const open = makeEvent({ id: 'inc-am-1', server: 'billing-prod', firstFailure: now - 10 * 60_000, emittedAt: now })
    await n.handle([open])
    await n.tick()
    expect(n.stats, lines.join('\n')).toMatchObject({ sent: 1, failedAttempts: 0 })
    type Got = { labels: Record<string, string>; fingerprint: string; status: { state: string }; generatorURL: string }
    const active = async () =>
      ((await (await fetch(`${base}/api/v2/alerts`)).json()) as Got[]).filter((a) => a.labels.incident === 'inc-am-1')
    const [got] = await active()
    expect(got.status.state).toBe('active')
    expect(got.labels).toMatchObject({
      alertname: 'PostgresConnectionFailures',
      server: 'billing-prod',
      category: 'firewall_deny',
      source: 'connrca',
    })
    // Alertmanager's own fingerprint for what we pushed is the one our webhook payloads carry
    expect(got.fingerprint).toBe(fingerprint(got.labels))

    await n.handle([{ ...open, revision: 2, status: 'resolved', lastFailure: now - 60_000, emittedAt: now }])
    await n.tick()
    expect(n.stats.sent).toBe(2)
    // a resolved alert (endsAt in the past) is no longer listed among the active ones
    expect(await active()).toEqual([])
    await n.stop()
  })
})
