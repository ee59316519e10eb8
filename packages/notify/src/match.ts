import type { NotifyLabel, NotifyMatch, RcaEvent } from '@connrca/contracts'

export type Matcher = (e: RcaEvent) => boolean

/** `*` = any run of characters, `?` = one character; everything else literal. */
export function globToRegExp(glob: string): RegExp {
  let src = '^'
  for (const ch of glob) {
    if (ch === '*') src += '.*'
    else if (ch === '?') src += '.'
    else src += ch.replace(/[\\^$.|+()[\]{}]/g, '\\$&')
  }
  return new RegExp(`${src}$`)
}

/** Compiled once per config: the per-event check is a few set lookups and at most a few regex tests. */
export function compileMatch(m: NotifyMatch): Matcher {
  const servers = m.servers?.map(globToRegExp)
  const categories = m.categories && new Set<string>(m.categories)
  const severities = m.severities && new Set<string>(m.severities)
  const persistence = m.persistence && new Set<string>(m.persistence)
  return (e) =>
    (!categories || categories.has(e.category)) &&
    (!severities || severities.has(e.severity)) &&
    (!persistence || persistence.has(e.persistence)) &&
    (!servers || servers.some((r) => r.test(e.server)))
}

export function labelValue(e: RcaEvent, label: NotifyLabel): string {
  return e[label]
}

export function labelsOf(e: RcaEvent, labels: readonly NotifyLabel[]): Record<string, string> {
  const out: Record<string, string> = {}
  for (const l of labels) out[l] = e[l]
  return out
}

/** Stable and readable: `route/server=orders,category=firewall_deny`. */
export function groupKeyOf(route: string, labels: Record<string, string>): string {
  return `${route}/${Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',')}`
}
