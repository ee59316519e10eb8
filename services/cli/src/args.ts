import { type ParseArgsConfig, parseArgs } from 'node:util'
import { HelpRequested, UsageError } from './errors.js'

type Options = NonNullable<ParseArgsConfig['options']>

/** What each option does, for `--help`: shared meanings first, then per command where it differs. */
const COMMON: Record<string, string> = {
  config: 'config file (default ./connrca.yaml or $CONNRCA_CONFIG)',
  'data-dir': 'embedded store directory (default store.dataDir, .connrca/data)',
  format: 'log format: auto (detect), stderr, csvlog, jsonlog, syslog, azure',
  prefix: "stderr log_line_prefix when not a known default, e.g. '%m [%p] %q%u@%d '",
  server: 'server name for every line read (otherwise from the log or the path)',
  json: 'print JSON instead of text',
}

const BY_COMMAND: Record<string, Record<string, string>> = {
  run: {
    once: 'stop once the inputs are read (no following, no dashboard)',
    json: 'print every RCA event revision as one JSON line',
    host: 'address the dashboard and API listen on (default api.host, 127.0.0.1)',
    port: 'port of the dashboard and API (default api.port, 8080; 0 = any free port)',
  },
  analyze: {
    json: 'print one JSON document (totals keyed by cause, incidents, unparsed reasons)',
    'no-store': 'analyze in memory only, write nothing to the store',
    progress: 'print progress on stderr while reading',
  },
  generate: {
    out: 'write the log to this file (- = stdout, which must not be a terminal)',
    dir: 'write one file per server into this directory',
    servers: 'number of servers, or their names a,b,c (default 3)',
    duration: 'time span of the log, e.g. 6h, 1d (default 1d)',
    rate: 'log lines per second per server (default 2)',
    format: 'stderr, csvlog, jsonlog or syslog (default stderr)',
    prefix: 'log_line_prefix of the stderr output',
    start: 'time of the first line, ISO 8601 (default 2026-03-02T00:00:00Z)',
    seed: 'random seed: the same seed writes the same bytes (default 1)',
    'no-incidents': 'background traffic only, no injected incidents',
    truth: 'write the ground truth (counts per server, cause and window) as JSON to this file',
  },
  why: {
    since: 'how far back from --until, e.g. 1h, 2d (default 1h)',
    until: 'end of the range: now, ISO 8601 or epoch ms (default now)',
    json: 'print the report as JSON',
  },
  sql: {
    format: 'output: table, json or csv (default table)',
    'max-rows': 'rows returned at most; more are cut and marked truncated (default 10000)',
    timeout: 'seconds the query may run (default 30)',
  },
  notify: {
    route: 'the route whose receivers get the sample (notify test)',
  },
  azure: {
    source: 'name of the azure source in the config (needed when there are several)',
    from: 'start of the range to pull, ISO 8601',
    to: 'end of the range, ISO 8601 (default now)',
    json: 'print the summary as JSON',
  },
}

/** The usage line and one line per option with what it does. */
export function helpText(usage: string, options: Options): string {
  const command = /^connrca (\S+)/.exec(usage)?.[1] ?? ''
  const rows = Object.entries(options).map(([name, o]) => {
    const flag = `--${name}${o.type === 'string' ? ' …' : ''}`
    const text = BY_COMMAND[command]?.[name] ?? COMMON[name]
    if (!text) throw new Error(`connrca ${command} --${name} has no description`)
    return [flag, text] as const
  })
  rows.push(['--help', 'print this help'])
  const width = Math.max(...rows.map(([f]) => f.length))
  return `${usage}\n\noptions:\n${rows.map(([f, t]) => `  ${f.padEnd(width)}  ${t}`).join('\n')}`
}

/** node:util parseArgs with errors turned into one-line usage errors. */
export function parse<O extends Options>(argv: string[], options: O, usage: string) {
  if (argv.includes('--help') || argv.includes('-h')) throw new HelpRequested(helpText(usage, options))
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true })
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\nusage: ${usage}`)
  }
}
