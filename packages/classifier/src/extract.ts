/** Small, allocation-light field extractors over PostgreSQL message texts. */

/** The text inside the double quotes that follow `anchor`, e.g. quoted(msg, 'user ') on `user "bob"`. */
export function quotedAfter(msg: string, anchor: string, from = 0): string | undefined {
  const at = msg.indexOf(anchor, from)
  if (at < 0) return undefined
  const open = at + anchor.length
  if (msg.charCodeAt(open) !== 34 /* " */) return undefined
  const close = msg.indexOf('"', open + 1)
  return close < 0 ? undefined : msg.slice(open + 1, close)
}

/** Where the value of `key=` starts (key at start or after a space), or -1. */
function valueAt(msg: string, key: string, from: number): number {
  let at = msg.indexOf(key, from)
  while (at > 0 && msg.charCodeAt(at - 1) !== 32) at = msg.indexOf(key, at + 1)
  return at < 0 ? -1 : at + key.length
}

/** Value of `key=value` (value ends at a space or comma), key at start or after a space. */
export function keyValue(msg: string, key: string, from = 0): string | undefined {
  const start = valueAt(msg, key, from)
  if (start < 0) return undefined
  let end = start
  while (end < msg.length) {
    const c = msg.charCodeAt(end)
    if (c === 32 || c === 44) break
    end++
  }
  return end > start ? msg.slice(start, end) : undefined
}

export function toPort(s: string | undefined): number | undefined {
  if (s === undefined) return undefined
  const n = Number(s)
  return Number.isInteger(n) && n >= 0 && n <= 65535 ? n : undefined
}

/**
 * toPort(keyValue(msg, key, from)) without cutting the value out: `port=54321` is on every
 * `connection received` and `disconnection` line. Anything but up to five plain digits takes
 * the slow path, so the result is the same for every input.
 */
export function portValue(msg: string, key: string, from = 0): number | undefined {
  const start = valueAt(msg, key, from)
  if (start < 0) return undefined
  let n = 0
  let end = start
  for (; end < msg.length; end++) {
    const c = msg.charCodeAt(end)
    if (c === 32 || c === 44) break
    if (c < 48 || c > 57 || end - start === 5) return toPort(keyValue(msg, key, from))
    n = n * 10 + (c - 48)
  }
  return end > start && n <= 65535 ? n : undefined
}

/** `application_name=` value of a `connection authorized` line; it may contain spaces. */
export function applicationName(msg: string): string | undefined {
  const at = msg.indexOf(' application_name=')
  if (at < 0) return undefined
  const start = at + 18
  let end = msg.indexOf(' SSL enabled', start)
  if (end < 0) end = msg.indexOf(' GSS (', start)
  if (end < 0) end = msg.length
  return end > start ? msg.slice(start, end) : undefined
}

/**
 * TLS protocol named in a message: `protocol=TLSv1.3` of `SSL enabled (...)`, or a bare
 * `TLSv1`/`TLSv1.1`/`SSLv3` token (e.g. in `tlsv1 alert` texts or Azure TLS version refusals).
 */
export function tlsProtocol(text: string | undefined): string | undefined {
  if (!text) return undefined
  const p = text.indexOf('protocol=')
  if (p >= 0) {
    let end = p + 9
    while (end < text.length && text.charCodeAt(end) !== 44 && text.charCodeAt(end) !== 41) end++
    return text.slice(p + 9, end)
  }
  let at = text.indexOf('TLSv')
  if (at < 0) at = text.indexOf('SSLv')
  if (at < 0) {
    const tls = text.indexOf('TLS 1.')
    return tls >= 0 ? `TLSv${text.slice(tls + 4, tls + 7)}` : undefined
  }
  let end = at + 4
  while (end < text.length) {
    const c = text.charCodeAt(end)
    if (!((c >= 48 && c <= 57) || c === 46)) break
    end++
  }
  // a trailing dot belongs to the sentence, not the version
  if (text.charCodeAt(end - 1) === 46) end--
  return end > at + 4 ? text.slice(at, end) : undefined
}

const HBA_LINE = /Connection matched (?:pg_hba\.conf line (\d+)|file "([^"]*)" line (\d+)): "(.*)"/

/**
 * The pg_hba.conf line of an authentication failure's DETAIL: `line 95: host all all 0.0.0.0/0
 * scram-sha-256` (PG ≤ 15 `Connection matched pg_hba.conf line 95: "…"`), or with the file (PG 16+
 * `Connection matched file "/etc/…/pg_hba.conf" line 95: "…"`).
 */
export function hbaLineOf(detail: string): string | undefined {
  if (!detail.includes('Connection matched')) return undefined
  const m = HBA_LINE.exec(detail)
  if (!m) return undefined
  return m[2] !== undefined ? `${m[2]} line ${m[3]}: ${m[4]}` : `line ${m[1]}: ${m[4]}`
}

const TLS_RANGE = /SSL protocol version between (\S+) and (\S+?)\.?$/m

/** TLS versions the server accepts, from PG 14+'s HINT of `unsupported protocol`: `TLSv1.2 to TLSv1.3`. */
export function serverTlsOf(detail: string): string | undefined {
  const m = TLS_RANGE.exec(detail)
  if (!m) return undefined
  return m[1] === m[2] ? m[1] : `${m[1]} to ${m[2]}`
}
