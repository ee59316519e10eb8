/** Webhook URLs carry tokens in their path or query: only scheme and host may be shown. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url)
    return `${u.protocol}//${u.host}/…`
  } catch {
    return '<invalid url>'
  }
}

/** Removes every occurrence of the given secrets (and URL paths) from a text meant for a log or an error. */
export function scrub(text: string, secrets: readonly string[]): string {
  let out = text
  for (const s of secrets) {
    if (s.length < 4) continue
    out = out.split(s).join('…')
  }
  return out
}

/** The sensitive substrings of a receiver: its URL, the URL's path+query, its secret, its header values. */
export function secretsOf(url: string, secret: string | undefined, headers: Record<string, string>): string[] {
  const out = [url]
  try {
    const u = new URL(url)
    if (u.pathname.length > 1 || u.search) out.push(u.pathname + u.search)
    if (u.search) out.push(u.search.slice(1))
    if (u.password) out.push(u.password)
  } catch {}
  if (secret) out.push(secret)
  for (const v of Object.values(headers)) out.push(v)
  // Longest first so a URL is replaced whole before its path is.
  return out.sort((a, b) => b.length - a.length)
}
