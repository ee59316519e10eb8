/**
 * A @clickhouse/client Connection over chDB that survives chDB's failed queries.
 *
 * Measured with chdb 3.4.0: when a query fails after it started producing output (a timeout,
 * throwIf in a later block, ...) the partial output stays in the session and is prepended to
 * the NEXT query's result, which then parses as garbage. So every call is serialized here, and
 * after any failure the session is replaced by a fresh one on the same data directory (cheap:
 * ~2 ms) with the session state (USE, SET) re-applied before the next call runs.
 */
import { createChdbConnection } from 'chdb/connection'

type Inner = ReturnType<typeof createChdbConnection>
type Params = Parameters<Inner['query']>[0]

export interface RawInsertParams {
  table: string
  values: Buffer
  format: 'JSONCompactEachRow'
  columns: readonly string[]
  settings: Record<string, number>
}

export class RecyclingChdbConnection {
  private inner: Inner
  private queue: Promise<unknown> = Promise.resolve()
  private needsInit = true
  private closed = false
  /** Session statements (USE db, SET ...) replayed on every fresh session. */
  private readonly init: string[] = []

  constructor(private readonly path: string) {
    this.inner = createChdbConnection({ path })
  }

  /** Adds a statement to run now and on every replacement session. */
  async addSessionStatement(sql: string): Promise<void> {
    this.init.push(sql)
    this.needsInit = true
    await this.run(async () => undefined)
  }

  query(params: Params) {
    return this.run(() => this.inner.query(params))
  }
  exec(params: Parameters<Inner['exec']>[0]) {
    return this.run(() => this.inner.exec(params))
  }
  command(params: Parameters<Inner['command']>[0]) {
    return this.run(() => this.inner.command(params))
  }
  insert(params: Parameters<Inner['insert']>[0]) {
    return this.run(() => this.inner.insert(params))
  }
  ping(params: Parameters<Inner['ping']>[0]) {
    return this.run(() => this.inner.ping(params))
  }
  /**
   * A streamed read: `onChunk` gets the output block by block (text in `format`) and returns false
   * to stop; the query is then cancelled in the engine. Resolves only once the engine has let go of
   * the query, so nothing keeps running after the caller answers. Statements chDB cannot stream
   * (SHOW, DESCRIBE, EXPLAIN, EXISTS: small results) run as one query and arrive as one chunk.
   */
  stream(sql: string, format: string, onChunk: (text: string) => boolean): Promise<void> {
    return this.run(async () => {
      try {
        const stream = this.inner.chdb.queryStream(sql, { format })
        for await (const chunk of stream) {
          if (!onChunk(chunk.text())) break
        }
      } catch (err) {
        if (!/Streaming query is not supported/.test(String((err as Error)?.message))) throw err
        const result = await this.inner.chdb.queryAsync(sql, { format })
        onChunk(result.text())
      }
      // Breaking out of the loop cancels the stream (its iterator's finally) between two fetches,
      // when no fetch is on a libuv thread: the engine drops the query now, not in the background.
    })
  }

  /** chDB's zero-copy insert (chdb/connection's `.chdb.rawInsert`) on the current session. */
  rawInsert(params: RawInsertParams) {
    return this.run(() => this.inner.chdb.rawInsert(params as never))
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    await this.queue.catch(() => undefined)
    await this.inner.close()
  }

  private run<T>(op: () => Promise<T>): Promise<T> {
    const next = this.queue.then(async () => {
      if (this.closed) throw new Error('chDB store connection is closed')
      if (this.needsInit) {
        this.needsInit = false
        for (const sql of this.init) await this.inner.command({ query: sql, query_id: undefined } as never)
      }
      try {
        return await op()
      } catch (err) {
        await this.replaceSession()
        throw err
      }
    })
    this.queue = next.catch(() => undefined)
    return next
  }

  private async replaceSession(): Promise<void> {
    const old = this.inner
    // open the new session first: the engine stays bound to the directory while one is open
    this.inner = createChdbConnection({ path: this.path })
    this.needsInit = true
    await old.close().catch(() => undefined)
  }
}
