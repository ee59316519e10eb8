export interface RetryOptions {
  /** First delay and floor of every delay; must be >= 1 so a failing call never spins. */
  minMs: number
  /** Cap of the exponential growth. */
  maxMs: number
  /** Aborting stops waiting and rejects with the signal's reason. */
  signal?: AbortSignal
  /** Give up after this many attempts (default: never, keep retrying). */
  maxAttempts?: number
  /** Errors for which this returns false are rethrown at once (bad input is not retried). */
  retryable?: (err: unknown) => boolean
  /** A wait the server asked for (HTTP Retry-After) instead of the backoff; never below minMs. */
  delayFor?: (err: unknown) => number | undefined
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void
}

/**
 * Calls `fn` until it resolves. Delays grow exponentially from minMs to maxMs with "equal
 * jitter" (half fixed, half random), so many clients that failed together do not retry together,
 * and no delay is shorter than minMs.
 */
export async function retryWithBackoff<T>(fn: (attempt: number) => Promise<T>, opts: RetryOptions): Promise<T> {
  if (!(opts.minMs >= 1) || !(opts.maxMs >= opts.minMs)) {
    throw new Error(`retryWithBackoff: need 1 <= minMs <= maxMs (got ${opts.minMs}, ${opts.maxMs})`)
  }
  for (let attempt = 1; ; attempt++) {
    opts.signal?.throwIfAborted()
    try {
      return await fn(attempt)
    } catch (err) {
      if (opts.signal?.aborted) throw opts.signal.reason
      if (opts.retryable && !opts.retryable(err)) throw err
      if (opts.maxAttempts !== undefined && attempt >= opts.maxAttempts) throw err
      const asked = opts.delayFor?.(err)
      const delay = asked === undefined ? backoffDelay(attempt, opts.minMs, opts.maxMs) : Math.max(opts.minMs, asked)
      opts.onRetry?.(err, attempt, delay)
      await sleep(delay, opts.signal)
    }
  }
}

/** Delay before retry number `attempt` (1-based): in [max(minMs, d/2), d], d = min(maxMs, minMs·2^(attempt-1)). */
export function backoffDelay(
  attempt: number,
  minMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(maxMs, minMs * 2 ** Math.min(attempt - 1, 30))
  const half = ceiling / 2
  return Math.max(minMs, Math.round(half + random() * half))
}

/** setTimeout as a promise that rejects with the signal's reason when aborted. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason)
    const onAbort = () => {
      clearTimeout(timer)
      reject(signal?.reason)
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}
