export function bump(m: Map<string, number>, key: string | undefined, by = 1): void {
  if (key === undefined || key === '') return
  m.set(key, (m.get(key) ?? 0) + by)
}
