import { z } from 'zod'

export const KafkaConfig = z.object({
  brokers: z.array(z.string()).min(1),
  clientId: z.string().default('connrca'),
  partitions: z.number().int().positive().default(6),
  replicationFactor: z.number().int().positive().default(1),
  /** Prepended to every topic name (`<prefix>connrca.logs.v1`): several pipelines on one cluster, tests. */
  topicPrefix: z.string().optional(),
  /** Producer batch compression (default lz4: chosen by measurement, see the transport's README). */
  compression: z.enum(['lz4', 'gzip', 'none']).optional(),
  /** Consumer group session timeout; a consumer silent this long is removed from the group. */
  sessionTimeoutMs: z.number().int().positive().optional(),
  heartbeatIntervalMs: z.number().int().positive().optional(),
})
export type KafkaConfig = z.infer<typeof KafkaConfig>
