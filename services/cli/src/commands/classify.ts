import { Classifier } from '@connrca/classifier'
import { LogFormat } from '@connrca/contracts'
import { parse } from '../args.js'
import { openSources, readToEnd, sourcesForPaths } from '../embedded/inputs.js'
import { UsageError } from '../errors.js'
import { fmt } from '../output.js'
import { UnparsedReport } from '../unparsed.js'

const USAGE = 'connrca classify [--format auto|stderr|csvlog|jsonlog|syslog|azure] [--prefix P] [--server S] < log'

/** stdin → one JSON ConnectionEvent per line on stdout. */
export async function classify(argv: string[]): Promise<void> {
  const { values } = parse(argv, { format: { type: 'string', default: 'auto' }, prefix: { type: 'string' }, server: { type: 'string' } }, USAGE)
  const format = parseFormat(values.format)
  const classifier = new Classifier()
  const out = process.stdout
  let buffer = ''
  const unparsed = new UnparsedReport()
  const log = (line: string) => process.stderr.write(`connrca: ${line}\n`)
  const sources = openSources(await sourcesForPaths(['-'], { format, prefix: values.prefix, server: values.server }, false), log)
  await readToEnd(sources, async ({ records, deadLetters }) => {
    for (const r of records) {
      const e = classifier.classify(r)
      if (e) buffer += `${JSON.stringify(e)}\n`
    }
    for (const d of deadLetters) if (unparsed.add(d)) process.stderr.write(`connrca: unparsed line at ${d.source?.position}: ${d.reason}\n`)
    if (buffer.length > 1 << 16) {
      if (!out.write(buffer)) await new Promise((r) => out.once('drain', r))
      buffer = ''
    }
  })
  out.write(buffer)
  if (unparsed.suppressed > 0)
    process.stderr.write(`connrca: ${fmt(unparsed.suppressed)} more unparsed lines not shown (${fmt(unparsed.total)} in all)\n`)
  const hint = unparsed.total > 0 ? unparsed.hint() : undefined
  if (hint) process.stderr.write(`connrca: hint: ${hint}\n`)
}

export function parseFormat(value: string | undefined): LogFormat {
  const r = LogFormat.safeParse(value ?? 'auto')
  if (!r.success) throw new UsageError(`unknown format "${value}" (use one of ${LogFormat.options.join(', ')})`)
  return r.data
}
