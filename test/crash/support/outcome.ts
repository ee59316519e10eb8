import { countsByServerCategory, latestRcaEvents, latestWindowCounts, openStore } from '@connrca/store'

/** What a run leaves in the store, in the revision-independent shape two runs can be compared by. */
export interface Outcome {
  /** server/category -> failed attempts (deduplicated by id) */
  failures: Map<string, number>
  /** server/category/reason -> failed attempts */
  reasons: Map<string, number>
  /** server/category/windowStart -> counts of the window's latest revision */
  windows: Map<
    string,
    { failures: number; attempts: number; distinctClients: number; firstFailure: number; lastFailure: number }
  >
  /** RCA event id -> final content that must not depend on how the input was chunked or replayed */
  rca: Map<
    string,
    { server: string; category: string; status: string; count: number; firstFailure: number; lastFailure: number }
  >
  /** The same events' derived content (texts, per-window split, persistence), compared separately for a clearer failure. */
  rcaDetail: Map<string, { attempts: number; windows: string; persistence: string; title: string; text: string }>
  raw: { events: number; distinctIds: number; deadLetters: number; windowRows: number; rcaRows: number }
}

/** Reads a data dir (no connrca process may have it open: chDB allows one process per data dir). */
export async function readOutcome(dataDir: string): Promise<Outcome> {
  const store = await openStore({ dataDir })
  try {
    const failures = new Map(
      (await countsByServerCategory(store)).map((r) => [`${r.server}/${r.category}`, Number(r.failures)]),
    )
    const reasonRows = await store.query<{ k: string; n: string }>(
      `SELECT concat(server, '/', category, '/', reason) AS k, count() AS n FROM connection_events FINAL
       WHERE outcome = 'failed' GROUP BY k ORDER BY k`,
    )
    const reasons = new Map(reasonRows.map((r) => [r.k, Number(r.n)]))
    const windows: Outcome['windows'] = new Map()
    for (const w of await latestWindowCounts(store)) {
      windows.set(`${w.server}/${w.category}/${new Date(w.windowStart).toISOString()}`, {
        failures: Number(w.failures),
        attempts: Number(w.attempts),
        distinctClients: Number(w.distinctClients),
        firstFailure: w.firstFailure,
        lastFailure: w.lastFailure,
      })
    }
    const rca: Outcome['rca'] = new Map()
    const rcaDetail: Outcome['rcaDetail'] = new Map()
    for (const e of await latestRcaEvents(store, { limit: 1_000_000 })) {
      rca.set(e.id, {
        server: e.server,
        category: e.category,
        status: e.status,
        count: Number(e.count),
        firstFailure: e.firstFailure,
        lastFailure: e.lastFailure,
      })
      rcaDetail.set(e.id, {
        attempts: Number(e.attempts),
        windows: e.windows.map((w) => `${new Date(w.start).toISOString().slice(11, 16)}:${w.failures}`).join(' '),
        persistence: e.persistence,
        title: e.title,
        text: e.text,
      })
    }
    const [raw] = await store.query<Record<keyof Outcome['raw'], string>>(
      `SELECT (SELECT count() FROM connection_events) AS events,
              (SELECT uniqExact(id) FROM connection_events) AS distinctIds,
              (SELECT count() FROM dead_letters) AS deadLetters,
              (SELECT count() FROM window_counts) AS windowRows,
              (SELECT count() FROM rca_events) AS rcaRows`,
    )
    return {
      failures,
      reasons,
      windows,
      rca,
      rcaDetail,
      raw: {
        events: Number(raw.events),
        distinctIds: Number(raw.distinctIds),
        deadLetters: Number(raw.deadLetters),
        windowRows: Number(raw.windowRows),
        rcaRows: Number(raw.rcaRows),
      },
    }
  } finally {
    await store.close()
  }
}
