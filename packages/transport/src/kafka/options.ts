import type { DeadLetter } from '@connrca/contracts'
import type { WireClient } from './client.js'

/** Structural: @connrca/observe's `Logger` fits, so does `console`-like code in tests. */
export interface TransportLogger {
  debug(msg: string, fields?: Record<string, unknown>): void
  info(msg: string, fields?: Record<string, unknown>): void
  warn(msg: string, fields?: Record<string, unknown>): void
  error(msg: string, fields?: Record<string, unknown>): void
}

type MetricLabels = Readonly<Record<string, string | number>>

/** Structural: @connrca/observe's `Metrics` fits; the transport does not depend on it. */
export interface TransportMetrics {
  counter(
    name: string,
    help: string,
    labelNames?: readonly string[],
  ): { inc(value?: number, labels?: MetricLabels): void }
  gauge(name: string, help: string, labelNames?: readonly string[]): { set(value: number, labels?: MetricLabels): void }
  histogram(
    name: string,
    help: string,
    labelNames?: readonly string[],
  ): { observe(value: number, labels?: MetricLabels): void }
}

export interface BatchOptions {
  /** A send starts as soon as this many messages are buffered. */
  maxMessages: number
  /** ...or when the oldest buffered message has waited this long (kafkajs has no linger of its own). */
  maxWaitMs: number
}

export interface KafkaTransportOptions {
  batch?: Partial<BatchOptions>
  /** Messages buffered by the producer before `publish` waits for room (backpressure, never drop). */
  maxBufferedMessages?: number
  /** Called for every message that failed validation on consume, after it went to the dead-letter topic. */
  onDeadLetter?: (letter: DeadLetter) => void
  metrics?: TransportMetrics
  logger?: TransportLogger
  /** Backoff of producer sends, handler retries and consumer restarts. */
  retry?: { minMs: number; maxMs: number }
  /** Replaces the kafkajs client (another client library, or fault injection in tests). */
  client?: WireClient
}

export const DEFAULT_BATCH: BatchOptions = { maxMessages: 1000, maxWaitMs: 20 }
export const DEFAULT_RETRY = { minMs: 200, maxMs: 10_000 }

export const noopLogger: TransportLogger = { debug() {}, info() {}, warn() {}, error() {} }

const noopMetric = { inc() {}, set() {}, observe() {} }
export const noopMetrics: TransportMetrics = {
  counter: () => noopMetric,
  gauge: () => noopMetric,
  histogram: () => noopMetric,
}
