import { z } from 'zod'

export const KafkaConfig = z.object({
  brokers: z.array(z.string()).min(1),
  clientId: z.string().default('connrca'),
  partitions: z.number().int().positive().default(6),
  replicationFactor: z.number().int().positive().default(1),
})
export type KafkaConfig = z.infer<typeof KafkaConfig>
