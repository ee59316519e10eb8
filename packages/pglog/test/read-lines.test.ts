import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { afterAll, describe, expect, it } from 'vitest'
import { createParser, readLines, recordId } from '../src/index.js'

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
