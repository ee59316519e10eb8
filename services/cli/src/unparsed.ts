import type { DeadLetter } from '@connrca/contracts'
import { fmt } from './output.js'

/** Dead-letter messages printed per reason before the rest are only counted. */
const SHOWN_PER_REASON = 3
const SAMPLE_CHARS = 120

interface Reason {
  reason: string
  count: number
  /** The first line that failed for this reason. */
  sample: string
}

/**
 * Why lines were not parsed, grouped by reason with a sample line, and what to try: a wrong
 * --prefix or --format is the usual cause, and one message per line would bury the answer.
 */
export class UnparsedReport {
  total = 0
  suppressed = 0
  private readonly reasons = new Map<string, Reason>()

  /** Counts a dead letter; true while its reason has been seen few enough times to print it. */
  add(d: DeadLetter): boolean {
    this.total++
    const key = d.reason.replace(/\b(at|offset|line) \d+\b/g, '$1 N')
    let r = this.reasons.get(key)
    if (!r) this.reasons.set(key, (r = { reason: d.reason, count: 0, sample: d.raw }))
    r.count++
    if (r.count <= SHOWN_PER_REASON) return true
    this.suppressed++
    return false
  }

  readonly onDeadLetters = async (batch: DeadLetter[]): Promise<void> => {
    for (const d of batch) this.add(d)
  }

  /** The most frequent reasons first. */
  top(n = 3): Reason[] {
    return [...this.reasons.values()].sort((a, b) => b.count - a.count || (a.reason < b.reason ? -1 : 1)).slice(0, n)
  }

  /** What to try, from the reasons seen. */
  hint(): string | undefined {
    const reasons = [...this.reasons.values()].map((r) => r.reason).join('\n')
    if (/log_line_prefix|timestamp/.test(reasons))
      return "give the server's log_line_prefix with --prefix '…' (psql: SHOW log_line_prefix), or --format csvlog|jsonlog|syslog|azure if the log is not stderr"
    if (/JSON|CSV|csv|json|syslog|column/.test(reasons)) return 'check --format: the lines do not look like the format given or detected'
    return undefined
  }

  /** Report lines for `analyze`: reasons with a sample, then the hint. */
  explain(): string[] {
    if (this.total === 0) return []
    const out = [`unparsed lines (${fmt(this.total)}), most frequent reasons:`]
    for (const r of this.top()) {
      out.push(`  ${fmt(r.count)} × ${r.reason}`)
      out.push(`      e.g. ${clip(r.sample)}`)
    }
    const hint = this.hint()
    if (hint) out.push(`  hint: ${hint}`)
    return out
  }

  toJSON() {
    return this.top(10).map((r) => ({ reason: r.reason, count: r.count, sample: clip(r.sample) }))
  }
}

function clip(line: string): string {
  return line.length > SAMPLE_CHARS ? `${line.slice(0, SAMPLE_CHARS)}…` : line
}
