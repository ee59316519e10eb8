import type { z } from 'zod'
import { ConnectionEvent } from './connection-event.js'
import { DeadLetter } from './dead-letter.js'
import { LogRecord } from './log-record.js'
import { RcaEvent } from './rca-event.js'

/** Where a record came from: the same for a run of records (one server's file), written once per frame. */
const FROM = ['server', 'source.kind', 'source.name'] as const

/**
 * Every topic with the schema its messages are validated against on consume, and the fields
 * whose value a Kafka frame carries once for all of its records (see compileRows).
 */
export const TOPICS = {
  logs: { name: 'connrca.logs.v1', schema: LogRecord, shared: FROM },
  connections: { name: 'connrca.connections.v1', schema: ConnectionEvent, shared: FROM },
  rca: { name: 'connrca.rca.v1', schema: RcaEvent, shared: [] },
  deadletter: { name: 'connrca.deadletter.v1', schema: DeadLetter, shared: FROM },
} as const

export type TopicKey = keyof typeof TOPICS
export type TopicMessage<K extends TopicKey> = z.infer<(typeof TOPICS)[K]['schema']>
