import type { NotifyConfig } from '@connrca/contracts'
import { clickhouseNotifyState, createNotifier, type Notifier } from '@connrca/notify'
import type { Store } from '@connrca/store'

/** The notifier with its state in the store, so restarts neither re-send nor forget a resolve. */
export function storeBackedNotifier(config: NotifyConfig, store: Store, logger?: (line: string) => void): Notifier {
  return createNotifier({ config, state: clickhouseNotifyState(store), logger })
}

/** True when the config names at least one route: otherwise there is nobody to notify. */
export function hasRoutes(config: NotifyConfig | undefined): config is NotifyConfig {
  return (config?.routes.length ?? 0) > 0
}
export * from './service.js'
