#!/usr/bin/env node
// The start-up path of every command: keep the static imports tiny (no zod, chDB, kafkajs, Azure),
// each command is loaded by import() when it runs (test/package/bundle.test.ts). Start-up times:
// README, "Install".
import module from 'node:module'
import { packageVersion } from '@connrca/contracts/package-root'
import { HelpRequested, UsageError, UserError } from './errors.js'
import { shieldStdin } from './stdin-shield.js'

// Node >= 22.1 keeps V8's compiled code of the command modules on disk (os.tmpdir()): on Node 24,
// 15 % less CPU for a one-line `analyze --no-store`, 5 % with the store (chDB's start dominates).
// Node 20 has no such cache. Before any import().
;(module as { enableCompileCache?: () => unknown }).enableCompileCache?.()

const COMMANDS: Record<string, { summary: string; load: () => Promise<(argv: string[]) => Promise<void>> }> = {
  run: {
    summary: 'run the whole pipeline on the embedded store, following the inputs',
    load: async () => (await import('./commands/run.js')).run,
  },
  analyze: {
    summary: 'one-shot analysis of log files: totals, windows, RCA events',
    load: async () => (await import('./commands/analyze.js')).analyze,
  },
  classify: {
    summary: 'classify log text from stdin into JSON connection events',
    load: async () => (await import('./commands/classify.js')).classify,
  },
  generate: {
    summary: 'write a realistic sample log with known incidents',
    load: async () => (await import('./commands/generate.js')).generate,
  },
  why: {
    summary: 'why connections failed: causes ranked by failures, likely cause, evidence, clients, steps',
    load: async () => (await import('./commands/why.js')).why,
  },
  sql: { summary: 'run read-only SQL against the store', load: async () => (await import('./commands/sql.js')).sql },
  notify: {
    summary: 'send a test notification, or re-send dead-lettered ones',
    load: async () => (await import('./commands/notify.js')).notify,
  },
  migrate: {
    summary: 'apply schema migrations to the store',
    load: async () => (await import('./commands/migrate.js')).migrate,
  },
  service: {
    summary: 'run one stage as its own process on Kafka (collector|classifier|aggregator|notifier|api)',
    load: async () => (await import('./commands/service.js')).service,
  },
  azure: {
    summary: 'backfill a past time range from an Azure Log Analytics workspace',
    load: async () => (await import('./commands/azure.js')).azure,
  },
}

function help(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length))
  return [
    'connrca — why can’t my clients connect?',
    '',
    'usage: connrca <command> [options]',
    '',
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`),
  ].join('\n')
}

async function main(argv: string[]): Promise<void> {
  const [name, ...rest] = argv
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${help()}\n`)
    return
  }
  if (name === '--version' || name === '-V' || name === 'version') {
    process.stdout.write(`connrca ${packageVersion()}\n`)
    return
  }
  const command = COMMANDS[name]
  if (!command) throw new UsageError(`unknown command "${name}"\n${help()}`)
  await (await command.load())(rest)
}

// `connrca classify | head` closes the pipe early: that is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0)
  throw err
})

if (!shieldStdin(process.argv.slice(2))) main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof HelpRequested) {
    process.stdout.write(`${err.message}\n`)
    return
  }
  const message = err instanceof Error ? err.message : String(err)
  process.stderr.write(`connrca: ${message}\n`)
  if (process.env.CONNRCA_DEBUG && err instanceof Error && !(err instanceof UserError))
    process.stderr.write(`${err.stack}\n`)
  process.exit(err instanceof UserError ? err.exitCode : 1)
})
