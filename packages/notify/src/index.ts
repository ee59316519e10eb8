export { type Clock, systemClock } from './clock.js'
export { type NotifyStoreHandle, clickhouseNotifyState } from './clickhouse-state.js'
export { type AttemptResult, attemptDelivery, ReceiverLimiter } from './delivery.js'
export * from './formats/index.js'
export { fleetHeadline, fleetOf } from './fleet.js'
export { compileMatch, globToRegExp, groupKeyOf } from './match.js'
export { createNotifier, type Notifier, type NotifierOptions, type NotifierStats } from './notifier.js'
export { redactUrl, scrub } from './redact.js'
export { NotifyConfigError, type ResolvedConfig, resolveConfig } from './resolve-config.js'
export { sampleEvent } from './sample.js'
export {
  IDEMPOTENCY_HEADER,
  SIGNATURE_HEADER,
  sign,
  TIMESTAMP_HEADER,
  type VerifyInput,
  verifySignature,
} from './signing.js'
export {
  type AlertState,
  type DeadLetterStatus,
  type Delivered,
  type GroupState,
  type JobState,
  memoryNotifyState,
  type NotifyDeadLetter,
  type NotifyStateStore,
  type StateKind,
  type StateRecord,
} from './state.js'
