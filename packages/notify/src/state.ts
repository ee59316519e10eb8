import type { RcaEvent } from '@connrca/contracts'

/** What a receiver was last told about a group: the basis for "has anything changed?". */
export interface Delivered {
  /** Incident id -> severity of the firing incidents in the last notification. */
  firing: Record<string, string>
  sentAt: number
  contentKey: string
  /** How many times in a row this exact content was sent (repeat_interval). */
  repeat: number
}

export interface AlertState {
  event: RcaEvent
  /** Processing time (clock) of the latest revision. */
  receivedAt: number
  /** Keys of the groups the incident joined, one per matching route. */
  groups: string[]
}

export interface GroupState {
  key: string
  route: string
  labels: Record<string, string>
  alertIds: string[]
  createdAt: number
  nextFlushAt: number
  lastFlushAt: number | null
  delivered: Record<string, Delivered>
}

export type JobKind = 'incidents' | 'digest'

/** One notification to one receiver, retried until delivered or dead-lettered. */
export interface JobState {
  id: string
  kind: JobKind
  route: string
  receiver: string
  groupKey: string | null
  body: string
  idempotencyKey: string
  attempts: number
  nextAttemptAt: number
  createdAt: number
  lastError: string | null
  /** Applied to the group's `delivered[receiver]` once the job is done (sent or given up). */
  commit: Delivered | null
}

export type StateKind = 'alert' | 'group' | 'job'

/** A persisted record; `body` is JSON so every implementation stores the same bytes. */
export interface StateRecord {
  kind: StateKind
  key: string
  body: string
}

export type DeadLetterStatus = 'pending' | 'resent'

export interface NotifyDeadLetter {
  id: string
  createdAt: number
  updatedAt: number
  route: string
  receiver: string
  kind: JobKind | 'test'
  groupKey: string
  idempotencyKey: string
  body: string
  /** Last error, already scrubbed of secrets. */
  error: string
  attempts: number
  status: DeadLetterStatus
}

/** Where the notifier keeps what must survive a restart. */
export interface NotifyStateStore {
  /** All live records. */
  load(): Promise<StateRecord[]>
  /** Upserts and deletes, applied as one batch. */
  save(upserts: StateRecord[], deletes: { kind: StateKind; key: string }[]): Promise<void>
  /** Insert or replace (by id). */
  putDeadLetters(items: NotifyDeadLetter[]): Promise<void>
  deadLetters(status?: DeadLetterStatus): Promise<NotifyDeadLetter[]>
}

export function memoryNotifyState(): NotifyStateStore {
  const records = new Map<string, StateRecord>()
  const dead = new Map<string, NotifyDeadLetter>()
  return {
    async load() {
      return [...records.values()].map((r) => ({ ...r }))
    },
    async save(upserts, deletes) {
      for (const d of deletes) records.delete(`${d.kind}\u0000${d.key}`)
      for (const r of upserts) records.set(`${r.kind}\u0000${r.key}`, { ...r })
    },
    async putDeadLetters(items) {
      for (const d of items) dead.set(d.id, { ...d })
    },
    async deadLetters(status) {
      return [...dead.values()]
        .filter((d) => status === undefined || d.status === status)
        .sort((a, b) => a.createdAt - b.createdAt)
        .map((d) => ({ ...d }))
    },
  }
}
