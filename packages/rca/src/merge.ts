import type { TopEntry } from '@connrca/contracts'

/** Adds top lists into a counting map, keeping at most `cap` values (lowest counts go first). */
export function addInto(m: Map<string, number>, entries: TopEntry[]): void {
  for (const e of entries) m.set(e.value, (m.get(e.value) ?? 0) + e.count)
}
