import { storeBackedNotifier } from '@connrca/service-notifier'
import { helpText, parse } from '../args.js'
import { loadConfig } from '../config-file.js'
import { openStoreOrExplain } from '../instance.js'
import { HelpRequested, UsageError, UserError } from '../errors.js'

const USAGE = 'connrca notify test --route NAME | connrca notify retry   [--config C] [--data-dir D]'
const OPTIONS = { route: { type: 'string' }, config: { type: 'string' }, 'data-dir': { type: 'string' } } as const

/** Checks a route's receivers with a sample event, or re-sends dead-lettered notifications. */
export async function notify(argv: string[]): Promise<void> {
  const [action, ...rest] = argv
  if (action === undefined || action === '--help' || action === '-h') throw new HelpRequested(helpText(USAGE, OPTIONS))
  const { values } = parse(rest, OPTIONS, USAGE)
  const config = loadConfig(values.config)
  if (values['data-dir']) config.store.dataDir = values['data-dir']
  if (!config.notify) throw new UserError('no `notify:` section in the config: nothing to send to')
  const log = (line: string) => process.stderr.write(`connrca: ${line}\n`)
  const store = await openStoreOrExplain(config, 'stop it, run this again, then start it again')
  try {
    await store.migrate()
    const notifier = storeBackedNotifier(config.notify, store, log)
    if (action === 'test') {
      if (!values.route) throw new UsageError(`--route is required\nusage: ${USAGE}`)
      await notifier.sendTest(values.route)
      process.stdout.write(`sent a sample to every receiver of route "${values.route}"\n`)
    } else if (action === 'retry') {
      const { sent, failed } = await notifier.retryDeadLetters()
      process.stdout.write(`re-sent ${sent} dead-lettered notification(s), ${failed} failed again\n`)
      // scripts and cron see a retry that achieved nothing; the failed ones stay dead-lettered
      if (failed > 0 && sent === 0) process.exitCode = 1
    } else {
      throw new UsageError(`unknown notify action "${action ?? ''}"\nusage: ${USAGE}`)
    }
    await notifier.stop()
  } finally {
    await store.close()
  }
}
