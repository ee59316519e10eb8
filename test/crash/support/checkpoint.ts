import { runConnrca } from './process.js'

/** Per file path: the byte offset the embedded pipeline's checkpoint resumes at (0 when none yet). */
export type Positions = Map<string, number>

/**
 * Reads the saved positions through `connrca sql` in its own process, so the test process never
 * holds chDB on a data dir a connrca child will open next.
 */
export async function readPositions(dataDir: string): Promise<Positions> {
  const r = await runConnrca([
    'sql',
    '--data-dir',
    dataDir,
    '--format',
    'json',
    "SELECT value FROM checkpoints FINAL WHERE name = 'embedded.pipeline'",
  ])
  if (r.code !== 0) throw new Error(`connrca sql failed (${r.code}): ${r.stderr.trim()}`)
  const rows = (JSON.parse(r.stdout) as { rows: [string][] }).rows
  const out: Positions = new Map()
  if (rows.length === 0) return out
  // The StageRunner's checkpoint: { v, nextOffset, state: { sources, classifier, stages } }.
  const cp = JSON.parse(rows[0][0]) as { state: { sources: Record<string, { files?: { path: string; offset: number }[] }> } }
  for (const src of Object.values(cp.state.sources)) for (const f of src.files ?? []) out.set(f.path, f.offset)
  return out
}
