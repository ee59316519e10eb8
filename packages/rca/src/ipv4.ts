import type { Suggestion } from '@connrca/contracts'

/** Dotted IPv4 to an unsigned 32-bit number; undefined for anything else (IPv6, `[local]`, junk). */
export function parseIpv4(s: string): number | undefined {
  const parts = s.split('.')
  if (parts.length !== 4) return undefined
  let n = 0
  for (const p of parts) {
    if (p.length === 0 || p.length > 3) return undefined
    const v = Number(p)
    if (!Number.isInteger(v) || v < 0 || v > 255 || !/^\d+$/.test(p)) return undefined
    n = n * 256 + v
  }
  return n
}

export function formatIpv4(n: number): string {
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`
}

/** Smallest CIDR block holding both addresses. */
function commonBlock(lo: number, hi: number): { start: number; end: number; prefix: number } {
  let prefix = 32
  while (prefix > 0 && lo >>> (32 - prefix) !== hi >>> (32 - prefix)) prefix--
  const size = 2 ** (32 - prefix)
  const start = Math.floor(lo / size) * size
  return { start, end: start + size - 1, prefix }
}

export interface FirewallRule {
  startIp: string
  endIp: string
  cidr: string
  /** Denied addresses the rule admits. */
  addresses: number
}

/**
 * Addresses are grouped by /24; a group with one address becomes a single-address rule, a group
 * with several becomes the smallest CIDR block holding them (a dynamic ISP pool shows up this way).
 * Blocks never grow beyond a /24, so unrelated clients are never merged into a wide range.
 */
export function firewallRules(ips: string[]): FirewallRule[] {
  const groups = new Map<number, number[]>()
  for (const ip of new Set(ips)) {
    const n = parseIpv4(ip)
    if (n === undefined) continue
    const key = n >>> 8
    const g = groups.get(key)
    if (g) g.push(n)
    else groups.set(key, [n])
  }
  const rules: FirewallRule[] = []
  for (const g of groups.values()) {
    const lo = Math.min(...g)
    const hi = Math.max(...g)
    const b = commonBlock(lo, hi)
    rules.push({
      startIp: formatIpv4(b.start),
      endIp: formatIpv4(b.end),
      cidr: `${formatIpv4(b.start)}/${b.prefix}`,
      addresses: g.length,
    })
  }
  rules.sort((a, b) => b.addresses - a.addresses || (parseIpv4(a.startIp) ?? 0) - (parseIpv4(b.startIp) ?? 0))
  return rules
}

export const ALL_ADDRESSES_WARNING =
  'Do not keep a 0.0.0.0–255.255.255.255 rule: it opens the server to every address on the internet; use it at most for a brief test and then replace it with the narrow rule.'

/**
 * The narrowest firewall rule that admits the denied clients (IPv4 only: firewall rules take no
 * IPv6). With clients in several /24 blocks the main rule covers the largest group and `rules`
 * lists one rule per block.
 */
export function suggestFirewallRule(ips: string[]): Suggestion | undefined {
  const rules = firewallRules(ips)
  if (rules.length === 0) return undefined
  const main = rules[0]
  const single = main.startIp === main.endIp
  // a sentence ("suggestion: admit …"); the warning against the all-addresses rule is in the
  // steps, where it fits the server's flavour, not repeated here
  const what = single
    ? `admit only the denied client ${main.startIp} (${main.cidr}).`
    : `admit ${main.cidr} (${main.startIp}–${main.endIp}), the smallest block holding the ${main.addresses} denied addresses of that network, typically one ISP pool of dynamic addresses.`
  const others = rules.length - 1
  const more = others > 0 ? ` Denied clients also came from ${others} other ${others === 1 ? 'network' : 'networks'}; see rules.` : ''
  return {
    kind: 'firewall_rule',
    startIp: main.startIp,
    endIp: main.endIp,
    cidr: main.cidr,
    note: `${what}${more}`,
    ...(rules.length > 1 ? { rules: rules.map(({ startIp, endIp, cidr }) => ({ startIp, endIp, cidr })) } : {}),
  }
}
