import { z } from 'zod'

/** Where a record came from, and how to resume reading there. */
export const SourceRef = z.object({
  kind: z.enum(['file', 'stdin', 'syslog', 'http', 'azure', 'generator']),
  name: z.string(),
  /** byte offset for files, sequence for streams, row key for Azure. */
  position: z.union([z.number(), z.string()]),
})
export type SourceRef = z.infer<typeof SourceRef>

export const Severity = z.enum([
  'DEBUG',
  'INFO',
  'NOTICE',
  'WARNING',
  'ERROR',
  'LOG',
  'FATAL',
  'PANIC',
  'STATEMENT',
  'DETAIL',
  'HINT',
  'CONTEXT',
  'LOCATION',
  'QUERY',
])
export type Severity = z.infer<typeof Severity>

export const LogFormat = z.enum(['auto', 'stderr', 'csvlog', 'jsonlog', 'syslog', 'azure'])
export type LogFormat = z.infer<typeof LogFormat>

/** One server log event after multi-line join. */
export const LogRecord = z.object({
  /** Stable across re-reads of the same input: hash of source name + position. */
  id: z.string(),
  server: z.string(),
  /** Event time, epoch milliseconds UTC. */
  time: z.number(),
  severity: Severity,
  message: z.string(),
  sqlstate: z.string().optional(),
  detail: z.string().optional(),
  hint: z.string().optional(),
  context: z.string().optional(),
  statement: z.string().optional(),
  pid: z.number().optional(),
  sessionId: z.string().optional(),
  user: z.string().optional(),
  database: z.string().optional(),
  clientIp: z.string().optional(),
  clientPort: z.number().optional(),
  application: z.string().optional(),
  backendType: z.string().optional(),
  source: SourceRef,
})
export type LogRecord = z.infer<typeof LogRecord>
