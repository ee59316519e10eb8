import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { DEFAULT_PREFIX } from '@connrca/cli'
import {
  countsByServerCategory,
  latestRcaEvents,
  latestWindowCounts,
  openStore,
  putCheckpoint,
  type Store,
} from '@connrca/store'
import { partitionFor } from '@connrca/transport'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import { connrca } from '../support/cli.js'
import { kafkaTests, type PrivateBroker, startPrivateKafka } from '../support/kafka.js'
import { type Feed, feedLogs, renderLogs } from './support/feed.js'
import { sleep } from './support/process.js'
import {
  counter,
  kill9,
  running,
  type Service,
  type ServiceName,
  startService,
  stopService,
} from './support/services.js'
import { type ClickHouseFrontProcess, spawnClickHouseFront } from '../support/clickhouse-front-process.js'
import { type Gate, startGate } from './support/store-outage.js'
import { startWebhookReceiver, type WebhookReceiver } from './support/webhook.js'

// Issue 8, Kafka mode: collector → classifier ×2 → aggregator ×2 → notifier as `connrca service`
// processes on a private broker, the store a chDB ClickHouse front behind a TCP gate, a webhook
// receiver on loopback. While the logs are still being written: restart the broker, SIGKILL a
// classifier and an aggregator as they catch up and start new ones (leaving stale checkpoints
// behind, and restarting the notifier politely), take the store away for 30 s. Afterwards the store must hold what `connrca run
// --once` stores for the same input, and the receiver must have seen no idempotency key
// (incident id + revision) twice.

// Own broker: the shared one on 19092 must not be restarted. 19192 is kafka-restart.test's.
const KAFKA_PORT = 19196
const STORE_OUTAGE_MS = 30_000
const START = Date.UTC(2026, 2, 3, 0, 0, 0)
const MIN = 60_000
// One server per partition of the 4 (partitionFor): every consumer owns busy partitions.
const SERVERS = ['auth-eu', 'search-prod', 'orders-prod', 'ledger-prod']
const CAUSES = ['firewall_deny', 'auth_fail', 'limit_reached', 'tls_reject'] as const
const SPEC = {
  servers: SERVERS,
  start: START,
  durationMs: 60 * MIN,
  ratePerSec: 6,
  seed: 8,
  // Short incidents all along the hour, so notifications go out before, between and after the faults.
  incidents: Array.from({ length: 18 }, (_, i) => ({
    server: SERVERS[i % 4],
    category: CAUSES[i % 4],
    start: START + (2 + i * 3.2) * MIN,
    durationMs: 2 * MIN,
    perMinute: 40,
  })),
}
const pipeline = {
  window: '30s',
  allowedLateness: '10s',
  // Far beyond every stall here: windows close on event time only (see feed.ts).
  idleTimeout: '10m',
  thresholds: {
    firewall_deny: 5,
    auth_fail: 5,
    limit_reached: 5,
    tls_reject: 5,
    network: 50,
    user_error: 50,
    transient: 50,
  },
}
const USER = 'connrca'
const PASSWORD = 's3cret'

describe.skipIf(kafkaTests.skip)('Kafka mode: kill -9, broker restart and a store outage mid-stream', () => {
  let home: string
  let broker: PrivateBroker | undefined
  let front: ClickHouseFrontProcess | undefined
  let gate: Gate | undefined
  let hook: WebhookReceiver | undefined
  let feed: Feed | undefined
  let reference: Store
  let distributed: Store
  const services: Service[] = []
  let throughRestart: Service[] = []
  /** Killed or stopped on purpose. */
  const retired = new Set<Service>()
  let beforeStoreBack = Number.POSITIVE_INFINITY
  const timeline: string[] = []
  let victims: { name: ServiceName; partitions: string }[] = []
  const staleCheckpoints: string[] = []
  let referenceRun: ReturnType<typeof connrca>

  beforeAll(async () => {
    const t0 = Date.now()
    const mark = (what: string) => timeline.push(`${((Date.now() - t0) / 1000).toFixed(1)}s ${what}`)
    home = await mkdtemp(join(tmpdir(), 'connrca-kafka-crash-'))
    const logs = renderLogs(SPEC)
    for (const [server, text] of logs) {
      const file = join(home, 'ref', 'logs', server, 'postgresql.log')
      await mkdir(dirname(file), { recursive: true })
      await writeFile(file, text)
    }
    ;[broker, front, hook] = await Promise.all([
      startPrivateKafka(KAFKA_PORT),
      spawnClickHouseFront({ dataDir: join(home, 'ch'), user: USER, password: PASSWORD }),
      startWebhookReceiver(),
    ])
    gate = await startGate(front.port)
    mark('broker, store and receiver up')

    const source = (dir: string) => ({
      type: 'file',
      name: 'fleet',
      paths: [join(home, dir, 'logs', '*', 'postgresql.log')],
      serverFromPath: '/logs/(?<server>[^/]+)/',
      format: 'stderr',
      prefix: DEFAULT_PREFIX,
    })
    const base = { version: 1, pipeline, api: { enabled: false } }
    await writeFile(
      join(home, 'reference.yaml'),
      stringify({ ...base, sources: [source('ref')], store: { database: 'reference' } }),
    )
    await writeFile(
      join(home, 'kafka.yaml'),
      stringify({
        ...base,
        sources: [source('live')],
        store: { database: 'dist' },
        kafka: {
          brokers: broker.brokers.split(','),
          clientId: 'connrca-crash',
          partitions: 4,
          topicPrefix: `crash-${Date.now()}.`,
          // A killed member is noticed soon, so partitions move on within the test's time.
          sessionTimeoutMs: 6000,
          heartbeatIntervalMs: 1000,
        },
        notify: {
          receivers: [
            {
              name: 'hook',
              url: hook.url,
              format: 'generic',
              retry: { attempts: 100, initialBackoff: '200ms', maxBackoff: '2s' },
            },
          ],
          routes: [{ name: 'all', receivers: ['hook'], groupWait: '0s', groupInterval: '1s' }],
          tickInterval: '250ms',
        },
      }),
    )
    const store = { url: front.url, username: USER, password: PASSWORD }
    reference = await openStore({ ...store, database: 'reference' })
    distributed = await openStore({ ...store, database: 'dist' })
    // Schema first, as `connrca migrate` does before a deployment starts.
    await Promise.all([reference.migrate(), distributed.migrate()])

    const env = {
      CONNRCA_CONFIG: join(home, 'kafka.yaml'),
      // the private broker this test restarts; a KAFKA_BROKERS of the caller (a shared broker)
      // would override the config and keep the services away from the restart
      KAFKA_BROKERS: broker.brokers,
      CONNRCA_STORE_URL: gate.url,
      CONNRCA_STORE_USER: USER,
      CONNRCA_STORE_PASSWORD: PASSWORD,
    }
    const start = async (name: ServiceName) => {
      const s = startService(name, env)
      services.push(s)
      await running(s)
      return s
    }
    const [aggregator, , classifier, , notifier] = await Promise.all([
      start('aggregator'),
      start('aggregator'),
      start('classifier'),
      start('classifier'),
      start('notifier'),
      // The files stay empty until every consumer has joined: nothing is published before.
      start('collector'),
    ])
    mark('services running')

    referenceRun = connrca(['run', '--once'], {
      env: {
        CONNRCA_CONFIG: join(home, 'reference.yaml'),
        CONNRCA_STORE_URL: front.url,
        CONNRCA_STORE_USER: USER,
        CONNRCA_STORE_PASSWORD: PASSWORD,
      },
    })
    feed = await feedLogs(
      new Map(
        [...logs].map(([server, text]) => [
          server,
          { text, file: join(home, 'live', 'logs', server, 'postgresql.log') },
        ]),
      ),
      { slices: 120, everyMs: 450, heldBack: 0.2 },
    )

    // Faults only once notifications flow, and each next one once they flow again.
    const notified = async (what: string) => {
      const n = hook!.received.length
      await until(async () => hook!.received.length > n, 45_000, `notification ${what}`)
      mark(`notified ${what} (${(feed!.progress() * 100).toFixed(0)}% of the input written)`)
    }
    await notified('first')
    const early = await aggregatorCheckpoints(distributed)

    // 1. Broker restart, same data. Producers buffer meanwhile: the consumers come back to a backlog.
    throughRestart = [...services]
    await broker.stop()
    mark('broker stopped')
    await broker.start()
    mark('broker started')

    // 2. kill -9 a classifier and an aggregator while they work through that backlog (their counters
    // grow before the transport commits), so the kills cut batches that were not committed.
    await Promise.all([
      killWhenBusy(classifier, 'connrca_classifier_records_in_total'),
      killWhenBusy(aggregator, 'connrca_kafka_records_in_total'),
    ])
    retired.add(classifier).add(aggregator)
    victims = [classifier, aggregator].map((s) => ({ name: s.name, partitions: assigned(s) }))
    // What a member dropped from the group in the middle of a batch does (this test caught it
    // now and then after the store outage; 514bfb0): it saves its older checkpoint after its
    // successor's newer one. Here every time, for the killed aggregator's partitions, before
    // their next owner restores them.
    for (const p of victims[1].partitions.split(',')) {
      const stale = early.get(p)
      if (!stale) continue
      await putCheckpoint(distributed, stale.name, stale.value)
      staleCheckpoints.push(
        `partition ${p} restored at offset ${(JSON.parse(stale.value) as { nextOffset: string }).nextOffset}`,
      )
    }
    mark(`killed a classifier and an aggregator (${(feed.progress() * 100).toFixed(0)}% of the input written)`)
    // Meanwhile a rolling restart of the notifier: it must go on from the state it saved.
    expect(await stopService(notifier)).toBe(0)
    retired.add(notifier)
    await Promise.all([start('classifier'), start('aggregator'), start('notifier')])
    mark('replacements and a new notifier running')
    await notified('after the broker restart and the kills')

    // 3. The store away for 30 s.
    await gate.down()
    mark(`store down (${(feed.progress() * 100).toFixed(0)}% of the input written)`)
    await sleep(STORE_OUTAGE_MS)
    await gate.up()
    mark('store back')
    beforeStoreBack = hook.received.length
    feed.release()
    await feed.done
    mark('input complete')
    const ref = await referenceRun
    expect(ref.stderr).toContain('caught up')
    expect(ref.code, ref.stderr).toBe(0)
    mark('reference run done')
  }, 240_000)

  afterAll(async () => {
    feed?.release()
    await Promise.all(services.map(stopService))
    await referenceRun?.catch(() => {})
    await reference?.close()
    await distributed?.close()
    await gate?.close()
    await front?.close()
    await hook?.close()
    await broker?.destroy()
    console.log(timeline.join('\n'))
    if (home) await rm(home, { recursive: true, force: true })
  }, 90_000)

  it('killed members that owned busy partitions, and left stale checkpoints behind', () => {
    expect(new Set(SERVERS.map((s) => partitionFor(s, 4))).size).toBe(4)
    for (const v of victims) expect(v.partitions, `${v.name} had no partitions`).toMatch(/\d/)
    expect(staleCheckpoints.length).toBeGreaterThan(0)
    const restored = services.filter((s) => s.name === 'aggregator').map((s) => s.log())
    for (const line of staleCheckpoints)
      expect(
        restored.some((l) => l.includes(line)),
        line,
      ).toBe(true)
  })

  it('stores exactly the counts, windows and RCA events of an uninterrupted run', async () => {
    const counts = (s: Store) =>
      countsByServerCategory(s).then((rows) => rows.map((r) => `${r.server} ${r.category} ${r.failures}`))
    const reasons = (s: Store) =>
      s
        .query<{ k: string; n: string }>(
          `SELECT concat(server, ' ', category, ' ', reason) AS k, count() AS n FROM connection_events FINAL
           WHERE outcome = 'failed' GROUP BY k ORDER BY k`,
        )
        .then((rows) => rows.map((r) => `${r.k} ${r.n}`))
    const windows = (s: Store) =>
      latestWindowCounts(s).then((ws) =>
        ws
          .map(
            (w) =>
              `${w.server} ${w.category} ${w.windowStart} failures=${w.failures} attempts=${w.attempts} ` +
              `clients=${w.distinctClients} first=${w.firstFailure} last=${w.lastFailure}`,
          )
          .sort(),
      )
    const rca = (s: Store) =>
      latestRcaEvents(s, { limit: 10_000 }).then((es) =>
        es
          .map((e) => ({
            id: e.id,
            revision: e.revision,
            status: e.status,
            count: e.count,
            first: e.firstFailure,
            last: e.lastFailure,
            attempts: e.attempts,
            windows: e.windows,
            persistence: e.persistence,
            title: e.title,
            text: e.text,
          }))
          .sort((a, b) => a.id.localeCompare(b.id)),
      )
    const want = {
      counts: await counts(reference),
      reasons: await reasons(reference),
      windows: await windows(reference),
      rca: await rca(reference),
    }
    expect(want.rca.length).toBeGreaterThanOrEqual(SPEC.incidents.length)
    await eventually(async () => {
      expect(await counts(distributed)).toEqual(want.counts)
      expect(await reasons(distributed)).toEqual(want.reasons)
      expect(await windows(distributed)).toEqual(want.windows)
      expect(await rca(distributed)).toEqual(want.rca)
    }, 60_000)
  }, 90_000)

  it('sends no notification twice, and every incident it announced is resolved', async () => {
    const incidents = new Map((await latestRcaEvents(reference, { limit: 10_000 })).map((e) => [e.id, e]))
    const final = new Map([...incidents].map(([id, e]) => [id, e.revision]))
    const known = async () =>
      new Map(
        (
          await distributed.query<{ key: string; body: string }>(
            "SELECT key, body FROM notify_state FINAL WHERE kind = 'alert' AND deleted = 0",
          )
        ).map((r) => [r.key, (JSON.parse(r.body) as { event: { revision: number } }).event.revision]),
      )
    const received = () => hook!.received.flatMap((d) => d.events)
    const ids = (status: (s: string) => boolean) =>
      new Set(
        received()
          .filter((e) => status(e.status))
          .map((e) => e.id),
      )
    // Caught up: the notifier saved the final revision of every incident, announced incidents
    // resolved, and nothing more arrived for a second (a re-send would come within a few ticks).
    let seen = -1
    await eventually(async () => {
      const quiet = hook!.received.length === seen
      seen = hook!.received.length
      expect(await known()).toEqual(final)
      const resolved = ids((s) => s === 'resolved')
      expect([...ids((s) => s !== 'resolved')].filter((id) => !resolved.has(id))).toEqual([])
      expect(quiet, 'notifications still arriving').toBe(true)
    }, 30_000)
    const keys = hook!.received.map((d) => d.key)
    timeline.push(
      `${keys.length} notifications about ${ids((s) => s !== 'resolved').size} of ${incidents.size} incidents`,
    )
    const twice = keys.filter((k, i) => keys.indexOf(k) !== i)
    expect(twice, 'idempotency keys received more than once').toEqual([])
    expect(ids((s) => s !== 'resolved').size).toBeGreaterThanOrEqual(2)
    expect(keys.length, 'nothing was notified after the store came back').toBeGreaterThan(beforeStoreBack)
    for (const e of received()) {
      expect(incidents.has(e.id), `notified an incident the reference does not know: ${e.id}`).toBe(true)
      expect(e.revision).toBeLessThanOrEqual(incidents.get(e.id)!.revision)
    }
  }, 60_000)

  it('every fault hit a working pipeline', () => {
    const logs = (name: ServiceName) => services.filter((s) => s.name === name).map((s) => s.log())
    // The store outage: the services that write all the time got connections refused (the
    // notifier only writes when its state changes, so it may not have noticed).
    const refused = `ECONNREFUSED ${gate!.url.replace('http://', '')}`
    for (const name of ['collector', 'aggregator'] as const)
      expect(
        logs(name).some((l) => l.includes(refused)),
        `${name} never missed the store`,
      ).toBe(true)
    // The broker restart: every service that lived through it lost the connection.
    const brokerDown = `ECONNREFUSED ${broker!.brokers}`
    for (const s of throughRestart.filter((s) => s.child.signalCode !== 'SIGKILL'))
      expect(s.log().includes(brokerDown), `${s.name} ${s.child.pid} never saw the broker go`).toBe(true)
  })

  it('every service survived and stops cleanly', async () => {
    const live = services.filter((s) => !retired.has(s))
    expect(live.map((s) => `${s.name}:${s.child.exitCode}`)).toEqual(live.map((s) => `${s.name}:null`))
    const codes = await Promise.all(live.map(stopService))
    expect(codes).toEqual(live.map(() => 0))
  }, 60_000)
})

/** SIGKILL as soon as the counter moves: the service is handling batches right now. */
async function killWhenBusy(s: Service, metric: string): Promise<void> {
  const before = await counter(s, metric)
  await until(async () => (await counter(s, metric)) > before, 45_000, `${s.name} work after the broker restart`, 20)
  await kill9(s)
}

/** The aggregator's latest checkpoint per partition (name `aggregator.<topic prefix>p<partition>`). */
async function aggregatorCheckpoints(store: Store): Promise<Map<string, { name: string; value: string }>> {
  const rows = await store.query<{ name: string; value: string }>(
    "SELECT name, argMax(value, updated) AS value FROM checkpoints WHERE name LIKE 'aggregator.%' GROUP BY name",
  )
  return new Map(rows.map((r) => [/p(\d+)$/.exec(r.name)![1], r]))
}

/** The partitions of the connections or logs topic a service last reported, from its log. */
function assigned(s: Service): string {
  const m = [...s.log().matchAll(/assigned \S*(?:connections|logs)\S* partitions \[([\d,]*)\]/g)]
  return m.at(-1)?.[1] ?? ''
}

async function until(check: () => Promise<boolean>, ms: number, what: string, everyMs = 200): Promise<void> {
  for (const deadline = Date.now() + ms; !(await check()); await sleep(everyMs))
    if (Date.now() > deadline) throw new Error(`no ${what} within ${ms / 1000} s`)
}

async function eventually(check: () => Promise<void>, ms: number): Promise<void> {
  for (const deadline = Date.now() + ms; ; await sleep(1000)) {
    try {
      return await check()
    } catch (err) {
      if (Date.now() > deadline) throw err
    }
  }
}
