import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { openStore, type Store } from '@connrca/store'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { clickhouseNotifyState } from '../src/clickhouse-state.js'
import type { NotifyDeadLetter } from '../src/state.js'
import { startReceiver, type TestReceiver } from './helpers.js'
import { restartScenarios } from './restart-scenarios.js'

let dir: string
let store: Store
let rx: TestReceiver
let s: ReturnType<typeof restartScenarios>
beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'connrca-notify-'))
  store = await openStore({ dataDir: dir, database: 'notify_test' })
  await store.migrate()
  rx = await startReceiver()
  s = restartScenarios(rx, async () => clickhouseNotifyState(store))
})
afterAll(async () => {
  await rx?.close()
  await store?.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('ClickHouse notification state (chDB)', () => {
  it('migrations create the notifier tables', async () => {
    const rows = await store.query<{ name: string }>(
      `SELECT name FROM system.tables WHERE database = 'notify_test' AND name LIKE 'notify_%' ORDER BY name`,
    )
    expect(rows.map((r) => r.name)).toEqual(['notify_dead_letters', 'notify_state'])
  })

  it('round-trips records; the latest write and deletes win', async () => {
    const st = clickhouseNotifyState(store)
    await st.save(
      [
        { kind: 'alert', key: 'k1', body: '{"v":1}' },
        { kind: 'group', key: 'g/1', body: '{"g":1}' },
      ],
      [],
    )
    await st.save([{ kind: 'alert', key: 'k1', body: '{"v":2}' }], [{ kind: 'group', key: 'g/1' }])
    const recs = await st.load()
    expect(recs.filter((r) => r.key === 'k1' || r.key === 'g/1')).toEqual([
      { kind: 'alert', key: 'k1', body: '{"v":2}' },
    ])
    await st.save([], [{ kind: 'alert', key: 'k1' }])
    expect((await st.load()).some((r) => r.key === 'k1')).toBe(false)
  })

  it('stores dead letters and their status changes', async () => {
    const st = clickhouseNotifyState(store)
    const dl: NotifyDeadLetter = {
      id: 'dl-1',
      createdAt: Date.UTC(2024, 4, 1, 10, 0, 0, 123),
      updatedAt: Date.UTC(2024, 4, 1, 10, 0, 0, 123),
      route: 'ops',
      receiver: 'hook',
      kind: 'incidents',
      groupKey: 'ops/server=a',
      idempotencyKey: 'a:1',
      body: '{"x":"ünïcode \\" quote"}',
      error: 'receiver "hook" (http://127.0.0.1:1/…): connection refused',
      attempts: 8,
      status: 'pending',
    }
    await st.putDeadLetters([dl])
    expect(await st.deadLetters('pending')).toEqual([dl])
    await st.putDeadLetters([{ ...dl, status: 'resent', attempts: 9 }])
    expect(await st.deadLetters('pending')).toEqual([])
    expect(await st.deadLetters()).toEqual([{ ...dl, status: 'resent', attempts: 9 }])
  })

  it('restart: does not re-send what was delivered', () => s.noDuplicatesAfterRestart())
  it('restart: does not lose a pending resolve', () => s.pendingResolveSurvives())
  it('restart: keeps a group inside group_wait', () => s.pendingGroupWaitSurvives())
  it('restart: resumes a notification that was being retried', () => s.retryingJobSurvives())
})
