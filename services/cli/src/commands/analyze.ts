import { parse } from '../args.js'
import { loadConfig } from '../config-file.js'
import { openStoreOrExplain } from '../instance.js'
import { limitHeapGrowth } from '../embedded/heap.js'
import { EmbeddedPipeline } from '../embedded/pipeline.js'
import { openSources, readToEnd, readTotals, sourcesForPaths } from '../embedded/inputs.js'
import { Summary } from '../embedded/summary.js'
import { UsageError } from '../errors.js'
import { fmt, progressReporter, renderRcaForTerminal } from '../output.js'
import { UnparsedReport } from '../unparsed.js'
import { parseFormat } from './classify.js'

const USAGE = 'connrca analyze FILE… [--format F] [--prefix P] [--server S] [--json] [--no-store] [--data-dir D] [--config C]'

/** One-shot analysis of whole files: totals, windows and RCA events; stored unless --no-store. */
export async function analyze(argv: string[]): Promise<void> {
  const { values, positionals } = parse(
    argv,
    {
      format: { type: 'string', default: 'auto' },
      prefix: { type: 'string' },
      server: { type: 'string' },
      json: { type: 'boolean', default: false },
      'no-store': { type: 'boolean', default: false },
      'data-dir': { type: 'string' },
      config: { type: 'string' },
      progress: { type: 'boolean', default: false },
    },
    USAGE,
  )
  if (positionals.length === 0) throw new UsageError(`no input files\nusage: ${USAGE}`)
  const format = parseFormat(values.format)
  const config = loadConfig(values.config)
  if (values['data-dir']) config.store.dataDir = values['data-dir']

  const log = (line: string) => process.stderr.write(`connrca: ${line}\n`)
  const inputs = await sourcesForPaths(positionals, { format, prefix: values.prefix, server: values.server }, false)

  // beside chDB memory counts; without a store (a quick look at a file) speed does
  if (!values['no-store']) limitHeapGrowth()
  const store = values['no-store'] ? undefined : await openStoreOrExplain(config, 'give analyze another --data-dir, or --no-store')
  try {
    if (store) await store.migrate()
    const pipeline = await EmbeddedPipeline.open(config, store, { fresh: true })
    const summary = new Summary()
    pipeline.onEvents('summary', summary.onEvents)
    await pipeline.onRca('summary', summary.onRca)
    const unparsed = new UnparsedReport()
    await pipeline.transport.subscribe('deadletter', 'summary', unparsed.onDeadLetters)

    const sources = openSources(inputs, log)
    const progress = progressReporter('analyze', values.progress)
    const ticker = setInterval(() => {
      const t = readTotals(sources)
      progress.update(t.bytesRead, t.lines, t.bytesTotal)
    }, 500)
    const started = performance.now()
    const { lines, irrelevant } = await readToEnd(sources, pipeline.deliver).finally(() => clearInterval(ticker))
    await pipeline.finish()
    progress.done()
    const elapsedMs = Math.round(performance.now() - started)

    const report = summary.toJSON({
      lines,
      // every record read, whether built or let go by the relevance filter (so counts do not depend on it)
      records: pipeline.recordsIn + irrelevant,
      unparsed: pipeline.deadLettersIn,
      lateDropped: pipeline.aggregator.lateDropped,
    })
    if (values.json) {
      const lastRcaMs = summary.lastRcaAt === undefined ? null : Math.round(summary.lastRcaAt - started)
      process.stdout.write(`${JSON.stringify({ ...report, unparsedReasons: unparsed.toJSON(), elapsedMs, lastRcaMs })}\n`)
      return
    }
    const out: string[] = []
    out.push(
      `${fmt(lines)} lines, ${fmt(report.records)} records, ${fmt(report.unparsed)} unparsed (dead-lettered), ${fmt(report.lateDropped)} late (dropped) in ${(elapsedMs / 1000).toFixed(1)} s`,
    )
    out.push(...unparsed.explain())
    const o = report.outcomes
    out.push(`connections: ${fmt(o.received)} received, ${fmt(o.authorized)} authorized, ${fmt(o.failed)} failed, ${fmt(o.closed)} closed`)
    out.push('')
    out.push('failures by category')
    const entries = Object.entries(report.totals)
    if (entries.length === 0) out.push('  none')
    for (const [category, t] of entries) {
      out.push(`  ${category.padEnd(14)} ${fmt(t.failures).padStart(9)}   ${t.reasons.map((r) => `${r.value} ${fmt(r.count)}`).join(', ')}`)
      const list = (label: string, xs: { value: string; count: number }[]) =>
        xs.length && out.push(`  ${''.padEnd(24)} ${label}: ${xs.map((x) => `${x.value} (${fmt(x.count)})`).join(', ')}`)
      list('clients', t.topClients)
      list('users', t.topUsers)
      list('databases', t.topDatabases)
    }
    out.push('')
    out.push(`incidents (${report.incidents.length})`)
    for (const e of report.incidents) out.push(renderRcaForTerminal(e), '')
    process.stdout.write(`${out.join('\n')}\n`)
  } finally {
    await store?.close()
  }
}
