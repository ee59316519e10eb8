import type { z } from 'zod'
import { ConnectionEvent } from './connection-event.js'
import { DeadLetter } from './dead-letter.js'
import { LogRecord } from './log-record.js'
import { RcaEvent } from './rca-event.js'

/** Every topic with the schema its messages are validated against on consume. */
export const TOPICS = {
  logs: { name: 'connrca.logs.v1', schema: LogRecord },
  connections: { name: 'connrca.connections.v1', schema: ConnectionEvent },
  rca: { name: 'connrca.rca.v1', schema: RcaEvent },
  deadletter: { name: 'connrca.deadletter.v1', schema: DeadLetter },
} as const

export type TopicKey = keyof typeof TOPICS
export type TopicMessage<K extends TopicKey> = z.infer<(typeof TOPICS)[K]['schema']>
