/** CRASH_SEED=<n> replays a run; otherwise a fresh seed each time (printed by the test). */
export function seedFromEnv(): number {
  const s = process.env.CRASH_SEED
  if (s !== undefined && /^\d+$/.test(s)) return Number(s)
  return (Date.now() ^ (process.pid << 8)) >>> 0
}
