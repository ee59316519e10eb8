import { createHash, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import { isIP } from 'node:net'

/** Loopback binds: the only ones allowed to run without a token. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase()
  if (h === 'localhost' || h === '::1') return true
  return isIP(h) === 4 && h.startsWith('127.')
}

export class ApiConfigError extends Error {}

/** Refuses an open API on a reachable interface before anything listens. */
export function assertSafeBinding(host: string, token: string | undefined): void {
  if (token !== undefined && token.length < 16) {
    throw new ApiConfigError('api.token: use at least 16 characters (e.g. `openssl rand -hex 24`)')
  }
  if (!token && !isLoopbackHost(host)) {
    throw new ApiConfigError(
      `api.host: ${host} is not loopback, so api.token (or CONNRCA_API_TOKEN) is required to protect the API`,
    )
  }
}

/**
 * Constant-time bearer check. Hashing both sides first makes the comparison independent of the
 * token length as well as its content.
 */
export function bearerMatches(req: IncomingMessage, token: string): boolean {
  const header = req.headers.authorization
  // the scheme is case-insensitive (RFC 7235 §2.1)
  const m = typeof header === 'string' ? /^bearer +(.*)$/i.exec(header) : null
  if (!m) return false
  const given = createHash('sha256').update(m[1].trim()).digest()
  const expected = createHash('sha256').update(token).digest()
  return timingSafeEqual(given, expected)
}
