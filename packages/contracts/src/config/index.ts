import { z } from 'zod'
import { ApiConfig } from './api.js'
import { KafkaConfig } from './kafka.js'
import { NotifyConfig } from './notify.js'
import { PipelineConfig } from './pipeline.js'
import { ServerInfo } from './servers.js'
import { SourceConfig } from './sources.js'
import { StoreConfig } from './store.js'

export * from './api.js'
export * from './duration.js'
export * from './load.js'
export * from './kafka.js'
export * from './notify.js'
export * from './pipeline.js'
export * from './servers.js'
export * from './sources.js'
export * from './store.js'

/** connrca.yaml, v1. */
export const Config = z.object({
  version: z.literal(1).default(1),
  servers: z.array(ServerInfo).default([]),
  sources: z.array(SourceConfig).default([]),
  pipeline: PipelineConfig.default(PipelineConfig.parse({})),
  store: StoreConfig.default(StoreConfig.parse({})),
  kafka: KafkaConfig.optional(),
  notify: NotifyConfig.optional(),
  api: ApiConfig.default(ApiConfig.parse({})),
})
export type Config = z.infer<typeof Config>
