import type { Store } from '@connrca/store'
import type { DeadLetterStatus, NotifyDeadLetter, NotifyStateStore, StateKind, StateRecord } from './state.js'

/** Only what the notifier needs from a store (tables come from infra/clickhouse/020-021). */
export type NotifyStoreHandle = Pick<Store, 'client' | 'database' | 'query'>

interface DeadLetterRow {
  id: string
  created_at: string
  updated_at: string
  route: string
  receiver: string
  kind: string
  group_key: string
  idempotency_key: string
  body: string
  error: string
  attempts: number
  status: string
  version: number
}

/**
 * Row versions must grow across restarts: wall-clock microseconds, bumped when two writes share
 * one, so the last write of a record always wins in ReplacingMergeTree.
 */
function versionSource(): () => number {
  let last = 0
  return () => {
    last = Math.max(Date.now() * 1000, last + 1)
    return last
  }
}

function chTime(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', '')
}

function fromChTime(s: string): number {
  return Date.parse(`${s.replace(' ', 'T')}Z`)
}

export function clickhouseNotifyState(store: NotifyStoreHandle): NotifyStateStore {
  const db = store.database
  const nextVersion = versionSource()
  const insert = (table: string, values: object[]) =>
    values.length === 0
      ? Promise.resolve()
      : store.client.insert({ table: `${db}.${table}`, values, format: 'JSONEachRow' }).then(() => {})

  return {
    async load(): Promise<StateRecord[]> {
      return store.query<StateRecord>(
        `SELECT kind, key, body FROM ${db}.notify_state FINAL WHERE deleted = 0 ORDER BY kind, key`,
      )
    },

    async save(upserts, deletes) {
      const now = chTime(Date.now())
      const rows: {
        kind: StateKind
        key: string
        body: string
        deleted: number
        version: number
        updated_at: string
      }[] = []
      for (const d of deletes)
        rows.push({ kind: d.kind, key: d.key, body: '', deleted: 1, version: nextVersion(), updated_at: now })
      for (const u of upserts)
        rows.push({ kind: u.kind, key: u.key, body: u.body, deleted: 0, version: nextVersion(), updated_at: now })
      await insert('notify_state', rows)
    },

    async putDeadLetters(items) {
      await insert(
        'notify_dead_letters',
        items.map(
          (d): DeadLetterRow => ({
            id: d.id,
            created_at: chTime(d.createdAt),
            updated_at: chTime(d.updatedAt),
            route: d.route,
            receiver: d.receiver,
            kind: d.kind,
            group_key: d.groupKey,
            idempotency_key: d.idempotencyKey,
            body: d.body,
            error: d.error,
            attempts: d.attempts,
            status: d.status,
            version: nextVersion(),
          }),
        ),
      )
    },

    async deadLetters(status?: DeadLetterStatus): Promise<NotifyDeadLetter[]> {
      const rows = await store.query<DeadLetterRow>(
        `SELECT * FROM ${db}.notify_dead_letters FINAL
         WHERE {status:String} = '' OR status = {status:String}
         ORDER BY created_at, id`,
        { status: status ?? '' },
      )
      return rows.map((r) => ({
        id: r.id,
        createdAt: fromChTime(r.created_at),
        updatedAt: fromChTime(r.updated_at),
        route: r.route,
        receiver: r.receiver,
        kind: r.kind as NotifyDeadLetter['kind'],
        groupKey: r.group_key,
        idempotencyKey: r.idempotency_key,
        body: r.body,
        error: r.error,
        attempts: Number(r.attempts),
        status: r.status as DeadLetterStatus,
      }))
    },
  }
}
