import { type Config, type PipelineHealth, toMs } from '@connrca/contracts'
import { openStore } from '@connrca/store'
import { assertSafeBinding } from './auth.js'
import { createApiServer } from './server.js'

export interface ApiServiceOptions {
  health?: () => PipelineHealth | Promise<PipelineHealth>
  /** Extra Prometheus text for /metrics. */
  metrics?: () => string
  onError?: (err: unknown, where: string) => void
}

export interface ApiService {
  url: string
  close(): Promise<void>
}

/**
 * `connrca service api`: the api alone, on its own store connection (ClickHouse server in the
 * distributed deployment). Migrations run first so a fresh store answers with empty results
 * rather than unknown-table errors.
 */
export async function startApiService(config: Config, opts: ApiServiceOptions = {}): Promise<ApiService> {
  assertSafeBinding(config.api.host, config.api.token)
  const store = await openStore(config.store)
  try {
    await store.migrate()
    const api = createApiServer({
      store,
      config: config.api,
      windowMs: toMs(config.pipeline.window),
      health: opts.health,
      metrics: opts.metrics,
      onError: opts.onError,
    })
    const { url } = await api.listen()
    return {
      url,
      async close() {
        await api.close()
        await store.close()
      },
    }
  } catch (err) {
    await store.close()
    throw err
  }
}
