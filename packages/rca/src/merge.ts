import type { TopEntry } from '@connrca/contracts'

/** Adds top lists into a counting map, keeping at most `cap` values (lowest counts go first). */
export function addInto(m: Map<string, number>, entries: TopEntry[]): void {
  for (const e of entries) m.set(e.value, (m.get(e.value) ?? 0) + e.count)
}

export function toTop(m: Map<string, number>, n: number): TopEntry[] {
  const all: TopEntry[] = []
  for (const [value, count] of m) all.push({ value, count })
  all.sort((a, b) => b.count - a.count || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0))
  if (all.length > n) all.length = n
  return all
}
