import { describe, expect, it } from 'vitest'
import { decodeFrame, encodeFrames, FRAME_BYTES } from '../src/kafka/frame.js'

/** Records of one key in order, sizes chosen by `size(i)`. */
function messages(keys: string[], n: number, size: (i: number) => number) {
  return Array.from({ length: n }, (_, i) => ({ key: keys[i % keys.length], value: { i, pad: 'x'.repeat(size(i)) } }))
}

function check(sent: { key: string; value: { i: number } }[]) {
  const frames = encodeFrames(sent)
  for (const f of frames) {
    const records = decodeFrame(f.value.toString()) as { i: number }[]
    // a frame over the bound holds exactly one record (one that is larger on its own)
    if (f.value.length > FRAME_BYTES) expect(records).toHaveLength(1)
  }
  for (const key of new Set(sent.map((m) => m.key))) {
    const got = frames.filter((f) => f.key === key).flatMap((f) => decodeFrame(f.value.toString()) as { i: number }[])
    expect(got.map((r) => r.i)).toEqual(sent.filter((m) => m.key === key).map((m) => m.value.i))
  }
  return frames
}

describe('encodeFrames', () => {
  it('packs each key into few frames under the bound, every record once and in order', () => {
    const frames = check(messages(['a', 'b', 'c'], 4500, () => 200))
    // ~1 MB over three keys: about two frames per key, not one per record
    expect(frames.length).toBeLessThanOrEqual(9)
  })

  it('keeps the bound when records grow after the first (the estimate is corrected)', () => {
    const frames = check(messages(['a'], 3000, (i) => (i === 0 ? 10 : 1000 + (i % 7) * 300)))
    expect(frames.every((f) => f.value.length <= FRAME_BYTES)).toBe(true)
  })

  it('sends a record larger than the bound as a frame of its own', () => {
    const sent = messages(['a'], 5, (i) => (i === 2 ? FRAME_BYTES + 10 : 100))
    const frames = check(sent)
    expect(frames.some((f) => f.value.length > FRAME_BYTES)).toBe(true)
  })

  it('reads a bare object (one record per message) as a frame of one', () => {
    expect(decodeFrame('{"a":1}')).toEqual([{ a: 1 }])
  })
})
