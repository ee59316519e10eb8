import type { Clock } from './clock.js'
import { redactUrl, scrub, secretsOf } from './redact.js'
import type { Receiver } from './resolve-config.js'
import { IDEMPOTENCY_HEADER, SIGNATURE_HEADER, sign, TIMESTAMP_HEADER } from './signing.js'

export type AttemptResult =
  | { ok: true; status: number }
  /** `retryable` false: the receiver rejected the request itself (4xx); sending it again will not help. */
  | { ok: false; retryable: boolean; error: string; retryAfterMs?: number }

const BODY_SNIPPET = 200

/** One POST, never throws; errors come back scrubbed of the URL, secret and header values. */
export async function attemptDelivery(
  r: Receiver,
  body: string,
  idempotencyKey: string,
  clock: Clock,
  doFetch: typeof fetch,
): Promise<AttemptResult> {
  const headers: Record<string, string> = {
    ...r.headers,
    'content-type': 'application/json',
    'user-agent': 'connrca-notifier/1',
    [IDEMPOTENCY_HEADER]: idempotencyKey,
  }
  if (r.secret) {
    const ts = Math.floor(clock.now() / 1000)
    headers[TIMESTAMP_HEADER] = String(ts)
    headers[SIGNATURE_HEADER] = sign(r.secret, ts, body)
  }
  const where = `receiver "${r.name}" (${redactUrl(r.url)})`
  const clean = (s: string) => scrub(s, secretsOf(r.url, r.secret, r.headers))
  try {
    const res = await doFetch(r.url, {
      method: 'POST',
      headers,
      body,
      signal: AbortSignal.timeout(r.timeoutMs),
      redirect: 'error',
    })
    if (res.ok) {
      // Drain so the connection can be reused.
      await res.arrayBuffer().catch(() => undefined)
      return { ok: true, status: res.status }
    }
    const text = await res.text().catch(() => '')
    const snippet = text ? `: ${clean(text.slice(0, BODY_SNIPPET).replace(/\s+/g, ' ').trim())}` : ''
    const retryable = res.status >= 500 || res.status === 429 || res.status === 408
    const retryAfter = parseRetryAfter(res.headers.get('retry-after'), clock.now())
    return {
      ok: false,
      retryable,
      error: `${where}: HTTP ${res.status}${snippet}`,
      ...(retryAfter !== undefined ? { retryAfterMs: retryAfter } : {}),
    }
  } catch (err) {
    return { ok: false, retryable: true, error: `${where}: ${clean(describeFetchError(err, r.timeoutMs))}` }
  }
}

function describeFetchError(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } }
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return `timed out after ${timeoutMs} ms`
  const code = e?.cause?.code
  if (code === 'ECONNREFUSED') return 'connection refused'
  if (code === 'ENOTFOUND') return 'host not found'
  if (code) return `${code}${e.cause?.message ? ` (${e.cause.message})` : ''}`
  return e?.cause?.message ?? e?.message ?? String(err)
}

function parseRetryAfter(v: string | null, now: number): number | undefined {
  if (!v) return undefined
  const secs = Number(v)
  if (Number.isFinite(secs)) return Math.max(0, secs * 1000)
  const at = Date.parse(v)
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined
}



/** Concurrency cap and minimum spacing between request starts, per receiver. */
export class ReceiverLimiter {
  private active = 0
  private readonly waiting: (() => void)[] = []
  private nextStart = 0

  constructor(
    private readonly concurrency: number,
    private readonly minIntervalMs: number,
    private readonly clock: Clock,
  ) {}

  async run<T>(fn: () => Promise<T>): Promise<T> {
    // A finishing run hands its slot straight to the next waiter, so `active` never overshoots.
    if (this.active >= this.concurrency) await new Promise<void>((resolve) => this.waiting.push(resolve))
    else this.active++
    try {
      if (this.minIntervalMs > 0) {
        const now = this.clock.now()
        const start = Math.max(now, this.nextStart)
        this.nextStart = start + this.minIntervalMs
        if (start > now) await this.clock.sleep(start - now)
      }
      return await fn()
    } finally {
      const next = this.waiting.shift()
      if (next) next()
      else this.active--
    }
  }
}
