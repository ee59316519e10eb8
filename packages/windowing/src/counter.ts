import type { TopEntry } from '@connrca/contracts'

export function bump(m: Map<string, number>, key: string | undefined, by = 1): void {
  if (key === undefined || key === '') return
  m.set(key, (m.get(key) ?? 0) + by)
}

/** Highest counts first; ties by value so the output is deterministic. */
export function topEntries(m: Map<string, number>, n: number): TopEntry[] {
  const all: TopEntry[] = []
  for (const [value, count] of m) all.push({ value, count })
  all.sort((a, b) => b.count - a.count || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0))
  if (all.length > n) all.length = n
  return all
}
