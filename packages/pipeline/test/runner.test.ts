import { describe, expect, it } from 'vitest'
import { type BatchPosition, type RunnerStage, StageRunner } from '../src/runner.js'

/** A stage that counts what it handled and when it was asked to make it durable. */
function countingStage() {
  const seen: number[] = []
  let flushes = 0
  const stage: RunnerStage<number, number[]> = {
    handle: async (batch) => void seen.push(...batch),
    flush: async () => void flushes++,
    snapshot: () => [...seen],
  }
  return { stage, seen, flushes: () => flushes }
}

function position(first: number, values: number[], more?: boolean): BatchPosition {
  return {
    partition: 0,
    offsets: values.map((_, i) => String(first + i)),
    firstOffset: String(first),
    nextOffset: String(first + values.length),
    more,
    seek: () => {
      throw new Error('no seek expected')
    },
  }
}

describe('StageRunner', () => {
  it('commits a batch handed over in parts once, after its last part', async () => {
    const s = countingStage()
    const commits: number[][] = []
    const runner = new StageRunner<number, number[]>({
      label: 'test',
      store: undefined,
      checkpointName: (p) => `test.p${p}`,
      open: () => s.stage,
      commitEveryBatch: true,
      onCommit: (_p, stage) => commits.push(stage.snapshot()),
    })
    await runner.handle([1, 2], position(0, [1, 2], true))
    await runner.handle([3, 4], position(2, [3, 4], true))
    expect(s.flushes()).toBe(0)
    expect(commits).toEqual([])
    await runner.handle([5], position(4, [5]))
    expect(s.flushes()).toBe(1)
    expect(commits).toEqual([[1, 2, 3, 4, 5]])
    expect(runner.position(0)).toBe(5n)
    // a part the state already covers (redelivered) is skipped, not handled twice
    await runner.handle([5], position(4, [5]))
    expect(s.seen).toEqual([1, 2, 3, 4, 5])
  })
})
