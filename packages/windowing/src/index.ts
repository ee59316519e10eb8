export { WindowAggregator } from './aggregator.js'
export { bump } from './counter.js'
export {
  type ResolvedWindowOptions,
  resolveWindowOptions,
  type WindowOptions,
  windowOptionsFromConfig,
} from './options.js'
export type { WindowingSnapshot } from './snapshot.js'
