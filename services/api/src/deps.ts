import type { ApiConfig, PipelineHealth } from '@connrca/contracts'
import type { Store } from '@connrca/store'

export interface Deps {
  store: Store
  config: ApiConfig
  health?: () => PipelineHealth | Promise<PipelineHealth>
  /** The pipeline's window width: the automatic step is never finer. */
  windowMs: number
  maxRangeMs: number
}
