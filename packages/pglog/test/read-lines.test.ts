import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { afterAll, describe, expect, it } from 'vitest'
import { mayClassify } from '@connrca/classifier'
import type { LogRecord } from '@connrca/contracts'
import { createParser, feedFile, LineSplitter, readLines, recordId } from '../src/index.js'

const dir = mkdtempSync(join(tmpdir(), 'pglog-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

async function all(path: string) {
  const out: { line: string; position: number }[] = []
  for await (const l of readLines(path)) out.push(l)
  return out
}

const TEXT = '2026-03-02 10:00:00.001 UTC [1] LOG:  héllo\r\n2026-03-02 10:00:00.002 UTC [1] DETAIL:  d\r\n\r\nlast'

describe('readLines', () => {
  it('strips CRLF; positions are byte offsets (UTF-8 aware); last line without newline', async () => {
    const p = join(dir, 'crlf.log')
    writeFileSync(p, TEXT)
    const lines = await all(p)
    expect(lines.map((l) => l.line)).toEqual([
      '2026-03-02 10:00:00.001 UTC [1] LOG:  héllo',
      '2026-03-02 10:00:00.002 UTC [1] DETAIL:  d',
      '',
      'last',
    ])
    const bytes = Buffer.from(TEXT)
    for (const l of lines) expect(bytes.subarray(l.position).toString().startsWith(l.line)).toBe(true)
  })

  it('reads gzip transparently with positions in the decompressed stream', async () => {
    const plain = join(dir, 'a.log')
    const gz = join(dir, 'a.log.gz')
    const big = Array.from({ length: 50_000 }, (_, i) => `2026-03-02 10:00:00.001 UTC [${i}] LOG:  line ${i}`).join(
      '\n',
    )
    writeFileSync(plain, big)
    writeFileSync(gz, gzipSync(big))
    expect(await all(gz)).toEqual(await all(plain))
  })

  it('ids are stable across re-reads', async () => {
    const p = join(dir, 'ids.log')
    writeFileSync(p, TEXT)
    const run = async () => {
      const ids: string[] = []
      const parser = createParser(
        { format: 'stderr', prefix: '%m [%p] ', source: { kind: 'file', name: p } },
        { record: (r) => ids.push(r.id), deadLetter: () => {} },
      )
      for await (const { line, position } of readLines(p)) parser.push(line, position)
      parser.flush()
      return ids
    }
    const a = await run()
    expect(a).toEqual(await run())
    expect(a[0]).toBe(recordId(p, 0))
    expect(recordId('x', 1)).toMatch(/^[0-9a-f]{16}$/)
    expect(recordId('x', 1)).not.toBe(recordId('x', 2))
  })

  it('a multi-megabyte line is delivered without hanging', async () => {
    const p = join(dir, 'long.log')
    writeFileSync(p, `a\n${'y'.repeat(5_000_000)}\nb`)
    const lines = await all(p)
    expect(lines.map((l) => l.line.length)).toEqual([1, 5_000_000, 1])
    expect(lines[2].position).toBe(5_000_003)
  })
})

describe('LineSplitter.feed with onAscii', () => {
  /** (line, position) in the order a splitter hands them on, chunks cut at `cuts`. */
  function lines(text: Buffer, cuts: number[], bytes: boolean, maxLineBytes: number) {
    const out: [string, number][] = []
    const sp = new LineSplitter(maxLineBytes)
    const onLine = (line: string, position: number) => out.push([line, position])
    const onAscii = (b: Buffer, spans: readonly number[], pos: number) => {
      for (let i = 0; i < spans.length; i += 2) out.push([b.toString('latin1', spans[i], spans[i + 1]), pos + spans[i]])
    }
    let at = 0
    for (const c of [...cuts, text.length]) {
      sp.feed(text.subarray(at, c), at, onLine, bytes ? onAscii : undefined)
      at = c
    }
    sp.end(onLine)
    return out
  }

  it('hands on the same lines in the same order as text, however the chunks fall', () => {
    const text = Buffer.from(
      [
        '2026-03-02 10:00:00.001 UTC [1] LOG:  duration: 1 ms',
        'ascii\r',
        'héllo wörld',
        '',
        'x'.repeat(300),
        '2026-03-02 10:00:00.002 UTC [2] LOG:  connection received: host=a',
        'tail without newline',
      ].join('\n'),
    )
    let seed = 7
    const rand = (n: number) => {
      seed = (seed * 48271) % 2147483647
      return seed % n
    }
    for (let trial = 0; trial < 200; trial++) {
      const cuts = [...new Set(Array.from({ length: rand(6) }, () => 1 + rand(text.length - 1)))].sort((a, b) => a - b)
      // 64 bytes: the 300-character line is cut for its length, after the ASCII lines of its chunk
      for (const max of [64, 1 << 20]) expect(lines(text, cuts, true, max)).toEqual(lines(text, cuts, false, max))
    }
  })

  it('feedFile gives a parser the records reading the lines as text gives', async () => {
    const p = join(dir, 'mixed.log')
    const rows: string[] = []
    for (let i = 0; i < 3000; i++) {
      const t = `2026-03-02 10:00:${String(i % 60).padStart(2, '0')}.${String(i % 1000).padStart(3, '0')} UTC`
      rows.push(
        i % 3 === 0
          ? `${t} [${i}] app@db LOG:  connection received: host=10.0.0.${i % 250} port=${i}`
          : i % 7 === 0
            ? `${t} [${i}] app@db FATAL:  password authentication failed for user "ü${i}"`
            : `${t} [${i}] app@db LOG:  duration: ${i}.5 ms  statement: SELECT ${i}`,
      )
      if (i % 7 === 0) rows.push(`${t} [${i}] app@db DETAIL:  Connection matched pg_hba.conf line ${i}`)
      if (i % 11 === 0) rows.push('\tcontinued')
    }
    writeFileSync(p, rows.join('\n'))
    const parse = async (bytes: boolean) => {
      const records: LogRecord[] = []
      const parser = createParser(
        { format: 'stderr', prefix: '%m [%p] %q%u@%d ', source: { kind: 'file', name: p }, relevant: mayClassify },
        { record: (r) => records.push(r), deadLetter: () => {} },
      )
      if (bytes) await feedFile(p, parser)
      else for await (const { line, position } of readLines(p)) parser.push(line, position)
      parser.flush()
      return { records, irrelevant: parser.irrelevant }
    }
    const text = await parse(false)
    expect(text.records.length).toBeGreaterThan(1000)
    expect(text.irrelevant).toBeGreaterThan(1000)
    expect(await parse(true)).toEqual(text)
  })
})
