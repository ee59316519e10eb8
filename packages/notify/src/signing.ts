import { createHmac, timingSafeEqual } from 'node:crypto'

export const SIGNATURE_HEADER = 'x-connrca-signature'
export const TIMESTAMP_HEADER = 'x-connrca-timestamp'
export const IDEMPOTENCY_HEADER = 'idempotency-key'

/**
 * `sha256=<hex>` over `<timestamp>.<body>`: binding the timestamp stops an old, captured
 * request from being replayed later with a valid signature.
 */
export function sign(secret: string, timestampSec: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestampSec}.${body}`).digest('hex')}`
}

export interface VerifyInput {
  secret: string
  body: string
  timestamp: string | null | undefined
  signature: string | null | undefined
  /** Seconds a signature stays valid; default 300. */
  toleranceSec?: number
  nowSec?: number
}

/** For receivers: true when the request was signed with `secret` recently. */
export function verifySignature(input: VerifyInput): boolean {
  const { secret, body, timestamp, signature } = input
  if (!timestamp || !signature) return false
  const ts = Number(timestamp)
  if (!Number.isInteger(ts)) return false
  const now = input.nowSec ?? Math.floor(Date.now() / 1000)
  if (Math.abs(now - ts) > (input.toleranceSec ?? 300)) return false
  const expected = Buffer.from(sign(secret, ts, body))
  const given = Buffer.from(signature)
  return expected.length === given.length && timingSafeEqual(expected, given)
}
