import { type ParseArgsConfig, parseArgs } from 'node:util'
import { HelpRequested, UsageError } from './errors.js'

type Options = NonNullable<ParseArgsConfig['options']>

/** node:util parseArgs with errors turned into one-line usage errors. */
export function parse<O extends Options>(argv: string[], options: O, usage: string) {
  if (argv.includes('--help') || argv.includes('-h')) throw new HelpRequested(usage)
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true })
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\nusage: ${usage}`)
  }
}
