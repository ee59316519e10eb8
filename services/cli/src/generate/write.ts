import { mkdir, open } from 'node:fs/promises'
import path from 'node:path'
import { plan, renderedRecords } from './generate.js'
import type { GenerateOptions, GroundTruth } from './types.js'

const CHUNK = 1 << 22 // ~4 MiB of text per write

/**
 * Writes the generated log to `file` (all servers interleaved: right for syslog, which names the
 * host on every line; for the other formats give one server or use writeLogs). Returns the truth
 * counted while writing.
 */
export async function writeLog(file: string, opts: GenerateOptions): Promise<GroundTruth> {
  await mkdir(path.dirname(path.resolve(file)), { recursive: true })
  const fh = await open(file, 'w')
  let truth: GroundTruth | undefined
  try {
    // joining an array once per chunk is cheaper than growing one string record by record
    let parts: string[] = []
    let size = 0
    for (const text of renderedRecords(opts, (t) => (truth = t))) {
      parts.push(text)
      size += text.length + 1
      if (size >= CHUNK) {
        parts.push('')
        await fh.write(parts.join('\n'))
        parts = []
        size = 0
      }
    }
    if (parts.length) {
      parts.push('')
      await fh.write(parts.join('\n'))
    }
  } finally {
    await fh.close()
  }
  return truth!
}

const EXT = { stderr: 'log', csvlog: 'csv', jsonlog: 'json', syslog: 'log' } as const

/**
 * One file per server: `<dir>/<server>/postgresql.<ext>` (a path that a `serverFromPath` regex
 * like `(?<server>[^/]+)/postgresql` recovers). Returns the merged truth.
 */
export async function writeLogs(dir: string, opts: GenerateOptions): Promise<{ files: string[]; truth: GroundTruth }> {
  const pl = plan(opts)
  const files: string[] = []
  const parts: GroundTruth[] = []
  for (const server of pl.servers) {
    const file = path.join(dir, server, `postgresql.${EXT[opts.format]}`)
    const incidents = pl.incidents.filter((i) => i.server === server)
    parts.push(await writeLog(file, { ...opts, servers: [server], incidents }))
    files.push(file)
  }
  const truth: GroundTruth = {
    servers: pl.servers,
    failures: Object.assign({}, ...parts.map((p) => p.failures)),
    reasons: Object.assign({}, ...parts.map((p) => p.reasons)),
    windows: parts.flatMap((p) => p.windows),
    incidents: pl.incidents,
    totals: parts.reduce(
      (a, p) => ({
        lines: a.lines + p.totals!.lines,
        records: a.records + p.totals!.records,
        received: a.received + p.totals!.received,
        authorized: a.authorized + p.totals!.authorized,
        closed: a.closed + p.totals!.closed,
      }),
      { lines: 0, records: 0, received: 0, authorized: 0, closed: 0 },
    ),
  }
  return { files, truth }
}
