import { writeFile } from 'node:fs/promises'
import { toMs } from '@connrca/contracts'
import { parse } from '../args.js'
import { UsageError, UserError } from '../errors.js'
import { type GenerateOptions, type GenFormat, renderedRecords, writeLog, writeLogs } from '../generate/index.js'

const USAGE =
  'connrca generate [--out FILE | --dir DIR] [--servers N|a,b,c] [--duration 1d] [--rate 2] [--format stderr|csvlog|jsonlog|syslog] [--prefix P] [--start ISO] [--seed N] [--no-incidents] [--truth FILE]'
const FORMATS: GenFormat[] = ['stderr', 'csvlog', 'jsonlog', 'syslog']

/** Writes a realistic log with known injected incidents (stdout, one file, or one file per server). */
export async function generate(argv: string[]): Promise<void> {
  const { values, positionals } = parse(
    argv,
    {
      out: { type: 'string' },
      dir: { type: 'string' },
      servers: { type: 'string', default: '3' },
      duration: { type: 'string', default: '1d' },
      rate: { type: 'string', default: '2' },
      format: { type: 'string', default: 'stderr' },
      prefix: { type: 'string' },
      start: { type: 'string', default: '2026-03-02T00:00:00Z' },
      seed: { type: 'string', default: '1' },
      'no-incidents': { type: 'boolean', default: false },
      truth: { type: 'string' },
    },
    USAGE,
  )
  if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"\nusage: ${USAGE}`)
  if (values.out !== undefined && values.dir !== undefined) throw new UsageError('give --out FILE or --dir DIR, not both')
  if (values.prefix !== undefined && values.format !== 'stderr')
    throw new UsageError(`--prefix applies to --format stderr only, not ${values.format}`)
  if (values.truth !== undefined && values.truth === values.out) throw new UsageError('--truth and --out name the same file')
  const format = values.format as GenFormat
  if (!FORMATS.includes(format)) throw new UsageError(`unknown format "${values.format}" (${FORMATS.join(', ')})`)
  const start = Date.parse(values.start)
  if (Number.isNaN(start)) throw new UsageError(`--start: not a date: ${values.start}`)
  let durationMs: number
  try {
    durationMs = toMs(values.duration)
  } catch (err) {
    throw new UsageError(`--duration: ${(err as Error).message}`)
  }
  const rate = Number(values.rate)
  if (!(rate > 0)) throw new UsageError(`--rate must be a positive number of lines per second per server`)
  const servers = /^\d+$/.test(values.servers) ? Number(values.servers) : values.servers.split(',').filter(Boolean)
  if (servers === 0 || (Array.isArray(servers) && servers.length === 0))
    throw new UsageError(`--servers: expected a count above 0 or names a,b,c, got "${values.servers}"`)
  if (!/^\d+$/.test(values.seed)) throw new UsageError(`--seed: expected a whole number, got "${values.seed}"`)
  const opts: GenerateOptions = {
    servers,
    start,
    durationMs,
    ratePerSec: rate,
    format,
    prefix: values.prefix,
    seed: Number(values.seed),
    incidents: values['no-incidents'] ? [] : 'default',
  }

  let truth: unknown
  if (values.dir) {
    const r = await writeLogs(values.dir, opts)
    process.stderr.write(`connrca: wrote ${r.files.join(', ')}\n`)
    truth = r.truth
  } else if (values.out && values.out !== '-') {
    truth = await writeLog(values.out, opts)
  } else {
    const out = process.stdout
    // a day of three servers is ~75 MB: not something to scroll past
    if (out.isTTY) throw new UsageError('the log goes to stdout, which is a terminal: give --out FILE or --dir DIR, or pipe it')
    let buf = ''
    for (const text of renderedRecords(opts, (t) => (truth = t))) {
      buf += `${text}\n`
      if (buf.length > 1 << 20) {
        if (!out.write(buf)) await new Promise((r) => out.once('drain', r))
        buf = ''
      }
    }
    out.write(buf)
  }
  if (values.truth) {
    await writeFile(values.truth, `${JSON.stringify(truth, null, 2)}\n`).catch((err) => {
      throw new UserError(`cannot write ${values.truth}: ${(err as NodeJS.ErrnoException).code}`)
    })
  }
}
