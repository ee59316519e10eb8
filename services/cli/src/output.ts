import type { RcaEvent } from '@connrca/contracts'

// made on first use: creating it loads ICU data, ~10 ms of every start (`--json` never needs it)
let n: Intl.NumberFormat | undefined
export const fmt = (v: number) => (n ??= new Intl.NumberFormat('en-US')).format(v)

/** Human form of an RCA event for the terminal. */
export function renderRcaForTerminal(e: RcaEvent): string {
  const lines = [`[${e.status}] ${e.title}`, `  ${e.text}`]
  if (e.suggestion) lines.push(`  suggestion: ${e.suggestion.note}`)
  if (e.status !== 'resolved') for (const s of e.steps) lines.push(`  - ${s}`)
  return lines.join('\n')
}

/** Plain aligned table for terminals. */
export function table(columns: string[], rows: unknown[][]): string {
  const cells = rows.map((r) => r.map((v) => (v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v))))
  const widths = columns.map((c, i) => Math.min(60, Math.max(c.length, ...cells.map((r) => r[i]?.length ?? 0))))
  const line = (vals: string[]) => vals.map((v, i) => (v.length > widths[i] ? `${v.slice(0, widths[i] - 1)}…` : v.padEnd(widths[i]))).join('  ').trimEnd()
  return [line(columns), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n')
}

/** Progress on stderr, at most once a second, only for terminals (or when forced). */
export function progressReporter(label: string, force = false) {
  const enabled = force || process.stderr.isTTY
  const started = performance.now()
  let last = 0
  return {
    update(bytes: number, lines: number, total?: number) {
      if (!enabled) return
      const now = performance.now()
      if (now - last < 1000) return
      last = now
      const secs = (now - started) / 1000
      const pct = total ? ` ${((100 * bytes) / total).toFixed(1)}%` : ''
      process.stderr.write(
        `\r${label}:${pct} ${fmt(Math.round(bytes / 1e6))} MB, ${fmt(lines)} lines, ${fmt(Math.round(lines / secs))} lines/s   `,
      )
    },
    done() {
      if (enabled && last > 0) process.stderr.write('\n')
    },
  }
}
