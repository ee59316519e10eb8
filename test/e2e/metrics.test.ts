/**
 * /metrics of `connrca run` exposes the pipeline (issue 14), in a format Prometheus's own
 * `promtool check metrics` (Debian package `prometheus`) accepts.
 */
import { spawnSync } from 'node:child_process'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { startConnrca } from '../support/cli.js'

let child: ReturnType<typeof startConnrca> | undefined
afterAll(() => {
  if (child && child.exitCode === null) child.kill('SIGKILL')
})

const LOG = [
  '2026-03-02 10:00:00.100 UTC [11] [unknown]@[unknown] LOG:  connection received: host=81.2.69.7 port=50001',
  '2026-03-02 10:00:00.120 UTC [11] reporting@orders FATAL:  no pg_hba.conf entry for host "81.2.69.7", user "reporting", database "orders", no encryption',
  '2026-03-02 10:00:01.010 UTC [12] app@orders FATAL:  password authentication failed for user "app"',
  'garbage FATAL:  no pg_hba.conf entry',
  '',
].join('\n')

function sample(text: string, name: string): number | undefined {
  const m = new RegExp(`^${name.replace(/[{}"[\]().*+?^$|\\]/g, '\\$&')} (\\S+)$`, 'm').exec(text)
  return m ? Number(m[1]) : undefined
}

describe('connrca run /metrics', () => {
  it('has records, dead letters, store writes, incidents, watermark delay, notifications and process_* metrics; promtool accepts it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'connrca-metrics-'))
    const hook = createServer((req, res) => {
      req.resume()
      res.writeHead(200).end()
    })
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r))
    const port = (hook.address() as AddressInfo).port
    await writeFile(join(dir, 'pg.log'), LOG)
    // 1 s windows without lateness and a 1 s idle timeout: incidents open (and notify) within seconds
    await writeFile(
      join(dir, 'connrca.yaml'),
      [
        'pipeline: { window: 1s, allowedLateness: 0s, idleTimeout: 1s }',
        'notify:',
        '  receivers:',
        `    - { name: ok, url: 'http://127.0.0.1:${port}/hook' }`,
        "    - { name: gone, url: 'http://127.0.0.1:9/hook', retry: { attempts: 2, initialBackoff: 100ms } }",
        '  routes:',
        '    - { name: all, receivers: [ok, gone], groupWait: 0s, groupBy: [server, category] }',
        '',
      ].join('\n'),
    )
    const source = `file:${join(dir, 'pg.log')}`
    child = startConnrca(['run', join(dir, 'pg.log'), '--server', 'orders-prod', '--config', join(dir, 'connrca.yaml'), '--data-dir', join(dir, 'data')])
    let stderr = ''
    child.stderr!.on('data', (d) => (stderr += d))
    const deadline = Date.now() + 90_000
    let url: string | undefined
    while (!url && Date.now() < deadline) {
      url = /dashboard: (http:\/\/[^/\s]+)/.exec(stderr)?.[1]
      await new Promise((r) => setTimeout(r, 200))
    }
    expect(url, stderr).toBeDefined()
    let text = ''
    while (Date.now() < deadline) {
      text = await (await fetch(`${url}/metrics`)).text()
      if (sample(text, 'connrca_notifications_dead_lettered_total') === 2 && sample(text, 'connrca_notifications_sent_total') === 2) break
      await new Promise((r) => setTimeout(r, 500))
    }
    hook.close()
    expect(sample(text, `connrca_source_records_total{source="${source}"}`)).toBe(3)
    expect(sample(text, `connrca_source_dead_letters_total{source="${source}"}`)).toBe(1)
    expect(sample(text, 'connrca_store_rows_written_total{table="connection_events"}')).toBe(3)
    expect(sample(text, 'connrca_store_rows_written_total{table="dead_letters"}')).toBe(1)
    expect(sample(text, 'connrca_store_write_failures_total{table="connection_events"}')).toBe(0)
    expect(sample(text, 'connrca_aggregator_events_total')).toBe(3)
    expect(sample(text, 'connrca_late_dropped_total')).toBe(0)
    // firewall_deny and auth_fail: one incident each, one notification each per receiver
    expect(sample(text, 'connrca_notifications_sent_total')).toBe(2)
    expect(sample(text, 'connrca_notifications_dead_lettered_total')).toBe(2)
    expect(sample(text, 'connrca_notification_attempts_failed_total')).toBe(4)
    expect(sample(text, 'connrca_incidents_open')).toBeTypeOf('number')
    expect(sample(text, 'connrca_rca_events_total')).toBeGreaterThanOrEqual(2)
    // the log is from March: its watermark is months behind the wall clock
    expect(sample(text, 'connrca_watermark_delay_seconds{server="orders-prod"}')).toBeGreaterThan(86_400)
    expect(sample(text, 'process_resident_memory_bytes')).toBeGreaterThan(0)
    expect(sample(text, 'process_cpu_seconds_total')).toBeGreaterThan(0)
    expect(sample(text, 'process_start_time_seconds')).toBeGreaterThan(0)
    expect(text).toContain('connrca_api_requests_total')

    const promtool = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' })
    expect(promtool.error).toBeUndefined()
    expect(promtool.stdout + promtool.stderr).toBe('')
    expect(promtool.status).toBe(0)
  }, 120_000)
})
