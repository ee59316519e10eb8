import { compileRows, type ConnectionEvent, TOPICS } from '@connrca/contracts'
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

describe('row frames (a topic whose schema compiles to rows)', () => {
  const rows = compileRows(TOPICS.connections.schema, TOPICS.connections.shared)!
  const event = (i: number, server: string): ConnectionEvent => ({
    id: `e${i}`,
    server,
    time: 1_767_225_600_000 + i,
    outcome: i % 3 === 0 ? 'failed' : 'received',
    ...(i % 3 === 0 ? { category: 'auth_fail' as const, reason: 'password_auth_failed' } : {}),
    clientIp: '10.0.0.7',
    message: `connection ${i} "quoted" \n ünïcode`,
    source: { kind: 'file', name: '/var/log/postgresql/postgresql.log', position: i * 100 },
  })
  const sent = Array.from({ length: 5000 }, (_, i) => ({ key: `pg-${i % 3}`, value: event(i, `pg-${i % 3}`) }))

  it('name the fields once per frame, keep the bound, and read back every record in order', () => {
    const frames = encodeFrames(sent, rows)
    expect(frames.every((f) => f.value.length <= FRAME_BYTES)).toBe(true)
    const text = frames[0].value.toString()
    expect(text.startsWith(`["rows:${rows.layout}",[`)).toBe(true)
    expect(text.split('"clientIp"')).toHaveLength(1) // no field name per record
    for (const key of ['pg-0', 'pg-1', 'pg-2']) {
      const got = frames.filter((f) => f.key === key).flatMap((f) => decodeFrame(f.value.toString(), rows))
      expect(JSON.parse(JSON.stringify(got))).toEqual(sent.filter((m) => m.key === key).map((m) => m.value))
    }
    // smaller than the same records as objects (these sparse ones by a sixth; the bench corpus by a quarter)
    const bytes = (fs: { value: Buffer }[]) => fs.reduce((n, f) => n + f.value.length, 0)
    expect(bytes(frames)).toBeLessThan(0.9 * bytes(encodeFrames(sent)))
  })

  it('carry the server and the file once per frame, a frame ending where they change, in order', () => {
    // one key, its records from two files in turns (a rotation read in one batch): runs of 40
    const file = (i: number) => `/var/log/postgresql/postgresql-${Math.floor(i / 40) % 2}.log`
    const turns = Array.from({ length: 400 }, (_, i) => {
      const { source, ...e } = event(i, 'pg-0')
      // a record without a source is a run of its own
      const value: ConnectionEvent = i === 7 ? e : { ...e, source: { ...source!, name: file(i) } }
      return { key: 'pg-0', value }
    })
    const frames = encodeFrames(turns, rows)
    expect(frames).toHaveLength(10 + 2)
    for (const f of frames) {
      const text = f.value.toString()
      expect(text.split('"pg-0"')).toHaveLength(2)
      expect(text.split('/var/log/').length).toBeLessThanOrEqual(2)
    }
    const got = frames.flatMap((f) => decodeFrame(f.value.toString(), rows))
    expect(JSON.parse(JSON.stringify(got))).toEqual(JSON.parse(JSON.stringify(turns.map((m) => m.value))))
    // the records of a frame hold one string for the server and one for the file
    const [a, b] = decodeFrame(frames[0].value.toString(), rows) as ConnectionEvent[]
    expect(Object.is(a.source!.name, b.source!.name) && Object.is(a.server, b.server)).toBe(true)
  })

  it('are read by a consumer of another layout (another version), field by field', () => {
    const older = { ...rows, layout: `${rows.layout},addedLater` }
    const frame = encodeFrames([{ key: 'pg-0', value: event(3, 'pg-0') }], rows)[0]
    expect(frame.value.toString().startsWith('["rows:')).toBe(true)
    const got = decodeFrame(frame.value.toString(), older)
    expect(TOPICS.connections.schema.parse(got[0])).toEqual(event(3, 'pg-0'))
    // and without any codec (a consumer of a topic written as objects before)
    expect(TOPICS.connections.schema.parse(decodeFrame(frame.value.toString())[0])).toEqual(event(3, 'pg-0'))
  })

  it('a consumer with a codec still reads object frames (written by connrca before row frames)', () => {
    const frame = encodeFrames([{ key: 'pg-0', value: event(1, 'pg-0') }])[0]
    expect(decodeFrame(frame.value.toString(), rows)).toEqual([event(1, 'pg-0')])
  })
})
