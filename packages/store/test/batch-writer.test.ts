import { afterAll, describe, expect, it, vi } from 'vitest'
import { BatchWriter, countsByServerCategory, openStore, type Store } from '../src/index.js'
import { failure, tmpDataDir } from './helpers.js'

const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i)

describe('BatchWriter', () => {
  it('writes a batch as soon as maxRows is reached, without waiting', async () => {
    const batches: number[][] = []
    const w = new BatchWriter<number>(
      async (rows) => {
        batches.push([...rows])
      },
      { maxRows: 4, maxWaitMs: 60_000 },
    )
    const started = Date.now()
    await w.add(range(0, 10).slice(0, 4))
    expect(Date.now() - started).toBeLessThan(1000)
    expect(batches).toEqual([[0, 1, 2, 3]])
    const p = w.add(range(4, 6)) // 4 rows fill one batch, 2 wait for the next
    await vi.waitFor(() => expect(batches).toHaveLength(2))
    expect(w.pending).toBe(2)
    await w.flush()
    await p
    expect(batches).toEqual([
      [0, 1, 2, 3],
      [4, 5, 6, 7],
      [8, 9],
    ])
  })

  it('writes a partial batch after maxWaitMs', async () => {
    const batches: number[][] = []
    const w = new BatchWriter<number>(
      async (rows) => {
        batches.push([...rows])
      },
      { maxRows: 1000, maxWaitMs: 50 },
    )
    const started = performance.now()
    const a = w.add([1, 2])
    const b = w.add([3])
    expect(batches).toEqual([])
    await Promise.all([a, b])
    expect(performance.now() - started).toBeGreaterThanOrEqual(45)
    expect(batches).toEqual([[1, 2, 3]])
  })

  it('add() resolves only after its rows are written, even across two batches', async () => {
    let release!: () => void
    const gate = new Promise<void>((r) => (release = r))
    const written: number[] = []
    const w = new BatchWriter<number>(
      async (rows) => {
        await gate
        written.push(...rows)
      },
      { maxRows: 3, maxWaitMs: 10 },
    )
    let resolved = false
    const p = w.add([1, 2, 3, 4, 5]).then(() => (resolved = true))
    await new Promise((r) => setTimeout(r, 40))
    expect(resolved).toBe(false)
    release()
    await p
    expect(written).toEqual([1, 2, 3, 4, 5])
  })

  it('retries a failed write with the same whole batch', async () => {
    const attempts: number[][] = []
    const errors: number[] = []
    const w = new BatchWriter<number>(
      async (rows) => {
        attempts.push([...rows])
        if (attempts.length < 3) throw new Error(`transient ${attempts.length}`)
      },
      { maxRows: 5, maxWaitMs: 5, retries: 3, retryBaseMs: 1, onError: (_e, attempt) => errors.push(attempt) },
    )
    await w.add([1, 2, 3])
    expect(attempts).toEqual([
      [1, 2, 3],
      [1, 2, 3],
      [1, 2, 3],
    ])
    expect(errors).toEqual([1, 2])
  })

  it('rejects add() and flush() when retries are exhausted, and keeps going with later batches', async () => {
    let fail = true
    const written: number[] = []
    const w = new BatchWriter<number>(
      async (rows) => {
        if (fail) throw new Error('store down')
        written.push(...rows)
      },
      { maxRows: 2, maxWaitMs: 5, retries: 2, retryBaseMs: 1 },
    )
    await expect(w.add([1, 2])).rejects.toThrow('store down')
    await expect(w.flush()).rejects.toThrow('store down')
    fail = false
    await w.add([3])
    await w.flush()
    expect(written).toEqual([3])
  })

  it('close() flushes what is buffered and refuses more', async () => {
    const written: number[] = []
    const w = new BatchWriter<number>(
      async (rows) => {
        written.push(...rows)
      },
      { maxRows: 100, maxWaitMs: 60_000 },
    )
    const p = w.add([1, 2])
    await w.close()
    await p
    expect(written).toEqual([1, 2])
    await expect(w.add([3])).rejects.toThrow(/after close/)
  })
})

describe('BatchWriter over the store', () => {
  let store: Store
  afterAll(async () => {
    await store?.close()
  })

  it('a write that fails half-way and is retried leaves exact counts (never half-applied)', async () => {
    store = await openStore({ dataDir: tmpDataDir() })
    await store.migrate()
    let calls = 0
    const w = new BatchWriter(
      async (rows: ReturnType<typeof failure>[]) => {
        calls++
        if (calls === 1) {
          // the first attempt stores half the batch, then the connection "drops"
          await store.insertConnectionEvents(rows.slice(0, rows.length / 2))
          throw new Error('connection reset')
        }
        await store.insertConnectionEvents(rows)
      },
      { maxRows: 1000, maxWaitMs: 10, retryBaseMs: 1 },
    )
    const rows = Array.from({ length: 600 }, (_, i) => failure(i))
    await w.add(rows)
    // the same rows again, as a redelivery after a crash would bring them
    await w.add(rows.slice(0, 300))
    await w.close()
    expect(calls).toBe(3)
    const counts = await countsByServerCategory(store)
    expect(counts.reduce((a, c) => a + c.failures, 0)).toBe(600)
    expect(counts).toHaveLength(6)
    for (const c of counts) expect(c.failures).toBe(100)
  })
})
